"""Forwarders' systems authenticate with ``Authorization: Api-Key <key>`` (hashed, revocable keys).

A key is looked up once (one indexed query by its public prefix, its owner joined) and hashed once per
process; the verified key is then kept in the process's memory (``vehicles.process_cache``): a revoked key,
a deactivated device or company is refused by the process that changed it at once and by every other
process within a second (at worst ``SMARTGATE_PROCESS_CACHE_SECONDS`` for a change made behind the ORM's
back). Expiry is checked on every request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from clearance.api.guessing import guessing_record_failure, guessing_refuse
from clearance.audit import Actor
from clearance.models import Company, CompanyAPIKey, CustomsSystemAPIKey, CustomsSystemClient, DeclarationEvent
from clearance.process_caches import company_keys, customs_keys
from vehicles.models import DeviceAPIKey, GateDevice
from vehicles.process_cache import ProcessCache, device_keys

KEYWORD = "Api-Key"


@dataclass(frozen=True)
class ApiClient:
    """The authenticated caller: a company's system holding one API key."""

    company: Company
    api_key: CompanyAPIKey
    is_authenticated: bool = True

    @property
    def pk(self) -> str:
        return self.api_key.pk

    @property
    def actor(self) -> Actor:
        return Actor(
            kind=DeclarationEvent.ActorKind.API_KEY,
            name=f"{self.company.tax_code}:{self.api_key.name}",
            company_id=self.company.id,
        )


def key_from_header(request) -> str | None:
    """The key of ``Authorization: Api-Key <key>`` (scheme case-insensitive), None without the header."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    keyword, _sep, key = header.partition(" ")
    if keyword.lower() != KEYWORD.lower() or not key.strip():
        raise exceptions.AuthenticationFailed(_("Send the key as 'Authorization: Api-Key <key>'."))
    return key.strip()


def usable_keys(model, key: str):
    """One indexed lookup by the key's public prefix; the hash is compared by the caller."""
    return model.objects.filter(prefix=key.partition(".")[0], revoked=False)


def verified_key(request, key: str, *, cache: ProcessCache, lookup, owner_is_active) -> object | None:
    """The API key row ``key`` names, verified: from this process's cache, else looked up (``lookup``: one
    query), hashed and compared, and cached. None for an unknown, revoked or expired key, or an inactive
    owner (the failure is counted against the address)."""
    digest = hashlib.sha256(key.encode()).digest()
    api_key = cache.get(digest)
    if api_key is None:
        guessing_refuse(request)  # a key verified before is no guess: only the others are counted
        api_key = lookup(key)
        if api_key is None or not api_key.is_valid(key) or not owner_is_active(api_key):
            guessing_record_failure(request)
            return None
        cache.set(digest, api_key)
    if api_key.has_expired:
        guessing_record_failure(request)
        return None
    return api_key


class CompanyAPIKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        key = key_from_header(request)
        if key is None:
            return None
        api_key = verified_key(
            request,
            key,
            cache=company_keys,
            lookup=lambda key: usable_keys(CompanyAPIKey, key).select_related("company").first(),
            owner_is_active=lambda api_key: api_key.company.is_active,
        )
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("The API key is unknown, revoked or expired."))
        return ApiClient(company=api_key.company, api_key=api_key), api_key

    def authenticate_header(self, request) -> str:
        return KEYWORD


class CompanyAPIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "clearance.api.authentication.CompanyAPIKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`, a key issued with `manage.py create_api_key`.",
        }


@dataclass(frozen=True)
class DeviceClient:
    """An authenticated gate device; it acts only for its own lane or yard."""

    device: GateDevice
    is_authenticated: bool = True

    @property
    def pk(self) -> int:
        return self.device.pk


class DeviceAPIKeyAuthentication(authentication.BaseAuthentication):
    """Devices send ``Authorization: Api-Key <key>`` too, but their keys live in their own table:
    a forwarder's key is not a device key, and the reverse."""

    def authenticate(self, request):
        key = key_from_header(request)
        if key is None:
            return None
        api_key = verified_key(
            request,
            key,
            cache=device_keys,
            lookup=lambda key: usable_keys(DeviceAPIKey, key).select_related("device__lane", "device__yard").first(),
            owner_is_active=lambda api_key: api_key.device.is_active,
        )
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("The device key is unknown, revoked or expired."))
        return DeviceClient(device=api_key.device), api_key

    def authenticate_header(self, request) -> str:
        return KEYWORD


class DeviceAPIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "clearance.api.authentication.DeviceAPIKeyAuthentication"
    name = "DeviceKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`, a device key issued with `manage.py create_device`.",
        }


@dataclass(frozen=True)
class CustomsClient:
    """An authenticated customs system: it may only send change notices."""

    client: CustomsSystemClient
    is_authenticated: bool = True

    @property
    def pk(self) -> int:
        return self.client.pk


class CustomsSystemAPIKeyAuthentication(authentication.BaseAuthentication):
    """The customs system's keys live in their own table: no forwarder's or device's key opens this door."""

    def authenticate(self, request):
        key = key_from_header(request)
        if key is None:
            return None
        api_key = verified_key(
            request,
            key,
            cache=customs_keys,
            lookup=lambda key: usable_keys(CustomsSystemAPIKey, key).select_related("client").first(),
            owner_is_active=lambda api_key: api_key.client.is_active,
        )
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("The customs system key is unknown, revoked or expired."))
        return CustomsClient(client=api_key.client), api_key

    def authenticate_header(self, request) -> str:
        return KEYWORD


class CustomsSystemAPIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "clearance.api.authentication.CustomsSystemAPIKeyAuthentication"
    name = "CustomsKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`, a customs system key issued with `manage.py create_customs_client`.",
        }
