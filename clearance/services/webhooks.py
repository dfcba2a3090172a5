"""Webhook subscriptions and the delivery of the outbox's events to them (Standard Webhooks).

- A subscription's signing secret (``whsec_…``) is shown once, at creation or rotation, and kept
  encrypted with Fernet under a key derived from ``SMARTGATE_WEBHOOK_ENCRYPTION_KEY`` (Django's secret
  key when unset), because it must be read back to sign. A rotated-out secret keeps signing beside the
  new one for ``ROTATION_OVERLAP``.
- Targets are https and resolve to public addresses only, checked when subscribing and again before
  every attempt; the request goes to the address that was checked (no second lookup: DNS rebinding),
  with no redirect followed and a 10 s limit. ``SMARTGATE_WEBHOOK_ALLOW_PRIVATE`` lifts both rules for
  development and tests.
- Each event becomes one ``WebhookDelivery`` per subscription that wants it (``event_fan_out``), each
  sent by its own task (``webhook_deliver``): a failing receiver only delays its own deliveries, and a
  slow one holds at most ``SMARTGATE_WEBHOOK_MAX_IN_FLIGHT`` workers at once. Every
  attempt is logged; 2xx is delivered, 410 disables the subscription, anything else is tried again
  with the same ``webhook-id`` after ``RETRY_DELAYS`` (with upward jitter: over 27 h in all).
- ``webhooks_sweep`` is the outbox's reconciliation: events not yet fanned out and deliveries that are
  due (retries, or sends the broker lost) are sent again.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import urllib3
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks import Webhook

from clearance import metrics
from clearance.errors import FieldError, RuleViolations
from clearance.models import Company, CompanyEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription
from clearance.services.enqueue import WEBHOOK_DELIVER_TASK, WEBHOOKS_QUEUE, task_send, tasks_send

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
EVENT_TYPES = frozenset(CompanyEvent.Type.values)
ALL_EVENTS = "*"
TIMEOUT_SECONDS = 10
RESPONSE_KEPT_BYTES = 1024
ROTATION_OVERLAP = timedelta(hours=24)
# After the n-th failed attempt, the next one comes this much later (plus up to 20 % jitter): eight
# attempts over more than 27 hours.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A worker holds a claimed delivery this long; past it the sweep may send it again (a killed worker).
CLAIM_SECONDS = 60
# An event not fanned out this long after it was written is fanned out by the sweep.
FAN_OUT_GRACE = timedelta(seconds=10)
SWEEP_BATCH = 500
FAILING_DISABLES_AFTER = timedelta(days=3)


class WebhookTargetRefused(RuleViolations):
    def __init__(self, message: str):
        super().__init__([FieldError("url", "webhook_target_refused", message)])
        self.message = message


# --- Secrets ---------------------------------------------------------------------------------------


def _fernet() -> Fernet:
    material = settings.SMARTGATE_WEBHOOK_ENCRYPTION_KEY or settings.SECRET_KEY
    digest = hashlib.sha256(b"smartgate.webhooks.secrets:" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def _decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def signing_secrets(subscription: WebhookSubscription, *, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and a rotated-out one during its overlap."""
    found = [_decrypt(subscription.secret_encrypted)]
    if subscription.previous_secret_encrypted and (subscription.previous_secret_expires_at or now) > now:
        found.append(_decrypt(subscription.previous_secret_encrypted))
    return found


# --- Targets -----------------------------------------------------------------------------------------


def target_addresses(url: str) -> list[str]:
    """The addresses ``url`` may be sent to; raises WebhookTargetRefused (on field ``url``) otherwise."""
    allow_private = settings.SMARTGATE_WEBHOOK_ALLOW_PRIVATE
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise WebhookTargetRefused("The URL must use https.")
    if parts.username or parts.password:
        raise WebhookTargetRefused("The URL must not carry credentials.")
    try:
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise WebhookTargetRefused(f"The URL's port is not valid: {error}.") from error
    if not host:
        raise WebhookTargetRefused("The URL has no host.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise WebhookTargetRefused(f"The host {host} does not resolve.") from error
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if not ip.is_global or ip.is_multicast:
                raise WebhookTargetRefused(f"The host {host} resolves to {address}, which is not a public address.")
    return addresses


def _events_checked(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - EVENT_TYPES - {ALL_EVENTS})
    if unknown:
        raise RuleViolations(
            [FieldError("events", "unknown_event_type", f"Unknown event type(s): {', '.join(unknown)}.")]
        )
    return sorted(set(events))


# --- Subscriptions -----------------------------------------------------------------------------------


@transaction.atomic
def subscription_create(
    *, company: Company, url: str, events: list[str], description: str = "", alert_email: str = ""
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret (returned once, kept encrypted)."""
    target_addresses(url)
    secret = secret_new()
    subscription = WebhookSubscription.objects.create(
        company=company,
        url=url,
        events=_events_checked(events),
        description=description,
        alert_email=alert_email,
        secret_encrypted=_encrypt(secret),
    )
    logger.info("webhook.subscribed", extra={"company": company.id, "subscription": subscription.id})
    return subscription, secret


@transaction.atomic
def subscription_secret(*, company: Company, subscription_id: int) -> str | None:
    """The subscription's current signing secret, for the one answer that shows it again: the replay of
    its creation under the same Idempotency-Key. None once it is deleted."""
    token = (
        WebhookSubscription.objects.filter(company=company, id=subscription_id)
        .values_list("secret_encrypted", flat=True)
        .first()
    )
    return _decrypt(token) if token else None


def subscription_update(*, company: Company, subscription_id: int, changes: dict) -> WebhookSubscription:
    """Change url, events, description or is_active; turning a subscription back on clears its failure."""
    subscription = WebhookSubscription.objects.select_for_update().get(company=company, id=subscription_id)
    if "url" in changes:
        target_addresses(changes["url"])
        subscription.url = changes["url"]
    if "events" in changes:
        subscription.events = _events_checked(changes["events"])
    for field in ("description", "alert_email"):
        if field in changes:
            setattr(subscription, field, changes[field])
    if "is_active" in changes:
        if changes["is_active"] and not subscription.is_active:
            subscription.failing_since, subscription.disabled_reason = None, ""
        subscription.is_active = changes["is_active"]
    subscription.save()
    return subscription


@transaction.atomic
def subscription_delete(*, company: Company, subscription_id: int) -> None:
    WebhookSubscription.objects.get(company=company, id=subscription_id).delete()


@transaction.atomic
def subscription_rotate_secret(*, company: Company, subscription_id: int) -> tuple[WebhookSubscription, str]:
    """A new secret; the old one keeps signing beside it for ROTATION_OVERLAP."""
    subscription = WebhookSubscription.objects.select_for_update().get(company=company, id=subscription_id)
    secret = secret_new()
    subscription.previous_secret_encrypted = subscription.secret_encrypted
    subscription.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
    subscription.secret_encrypted = _encrypt(secret)
    subscription.save()
    return subscription, secret


@transaction.atomic
def subscription_ping(*, company: Company, subscription_id: int) -> WebhookDelivery:
    """Send a ``ping`` event to this subscription alone (it is not in the company's feed)."""
    subscription = WebhookSubscription.objects.get(company=company, id=subscription_id)
    now = timezone.now()
    event = CompanyEvent.objects.create(
        company=company,
        type=CompanyEvent.Type.PING,
        data={"subscription": subscription.id},
        created_at=now,
        fanned_out_at=now,
    )
    delivery = WebhookDelivery.objects.create(subscription=subscription, event=event, next_attempt_at=now)
    _send_on_commit([delivery.id])
    return delivery


@transaction.atomic
def delivery_redeliver(*, company: Company, subscription_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again now (same ``webhook-id``), whatever became of it; its attempts count anew."""
    delivery = WebhookDelivery.objects.select_for_update().get(
        id=delivery_id, subscription_id=subscription_id, subscription__company=company
    )
    delivery.status, delivery.attempts = Status.PENDING, 0
    delivery.next_attempt_at, delivery.claimed_until = timezone.now(), None
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "claimed_until"])
    _send_on_commit([delivery.id])
    return delivery


# --- Fan-out and delivery ----------------------------------------------------------------------------


def _send_on_commit(delivery_ids: list[int]) -> None:
    if delivery_ids:
        sends = [(WEBHOOK_DELIVER_TASK, WEBHOOKS_QUEUE, [delivery_id]) for delivery_id in delivery_ids]
        transaction.on_commit(lambda: tasks_send(sends))


@transaction.atomic
def event_fan_out(*, event_id: int) -> int:
    """Write one delivery per active subscription of the event's company that wants its type, once
    (a conditional claim on the event); returns how many."""
    now = timezone.now()
    claimed = CompanyEvent.objects.filter(id=event_id, fanned_out_at__isnull=True).update(fanned_out_at=now)
    if claimed != 1:
        return 0
    event = CompanyEvent.objects.only("company_id", "type").get(id=event_id)
    subscriptions = [
        subscription
        for subscription in WebhookSubscription.objects.filter(company_id=event.company_id, is_active=True)
        if subscription.wants(event.type)
    ]
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(subscription=s, event_id=event_id, next_attempt_at=now) for s in subscriptions],
        ignore_conflicts=False,
    )
    _send_on_commit([delivery.id for delivery in deliveries])
    return len(deliveries)


def event_body(event: CompanyEvent) -> str:
    """The Standard Webhooks payload: ``{"type", "timestamp", "data"}``, with the event id in the data."""
    return json.dumps(
        {
            "type": event.type,
            "timestamp": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": {"id": event.public_id, **event.data},
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


@dataclass
class AttemptResult:
    status_code: int | None = None
    body: str = ""
    error: str = ""
    latency_ms: int = 0


def _post(url: str, *, body: bytes, headers: dict[str, str]) -> AttemptResult:
    """POST to the address just checked, without redirects, within TIMEOUT_SECONDS."""
    started = time.monotonic()
    result = AttemptResult()
    try:
        address = target_addresses(url)[0]
        parts = urlsplit(url)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        timeout = urllib3.Timeout(total=TIMEOUT_SECONDS)
        if https:
            pool = urllib3.HTTPSConnectionPool(
                address, port, server_hostname=parts.hostname, assert_hostname=parts.hostname, timeout=timeout
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        with pool:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers={**headers, "Host": host_header, "Content-Type": "application/json"},
                redirect=False,
                retries=False,
                preload_content=False,
            )
            result.status_code = response.status
            result.body = response.read(RESPONSE_KEPT_BYTES).decode("utf-8", errors="replace")
            response.release_conn()
    except WebhookTargetRefused as error:
        result.error = error.message[:300]
    except Exception as error:  # every network failure is an attempt that failed, logged with its cause
        result.error = f"{type(error).__name__}: {error}"[:300]
    result.latency_ms = int((time.monotonic() - started) * 1000)
    return result


def retry_delay(attempts: int) -> timedelta:
    """How long after the ``attempts``-th failed attempt the next one comes (with up to 20 % jitter)."""
    base = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    return base * (1 + random.uniform(0, 0.2))  # noqa: S311 - jitter, not a secret


def webhook_deliver(*, delivery_id: int) -> str | None:
    """One attempt of one delivery, if it is due and nobody else holds it (a conditional claim).
    Returns its status after the attempt, or None when there was nothing to do."""
    now = timezone.now()
    subscription_id = WebhookDelivery.objects.filter(id=delivery_id).values_list("subscription_id", flat=True).first()
    in_flight = WebhookDelivery.objects.filter(subscription_id=subscription_id, claimed_until__gt=now).count()
    if subscription_id is None or in_flight >= settings.SMARTGATE_WEBHOOK_MAX_IN_FLIGHT:
        # A slow receiver holds at most this many workers; the sweep sends the rest when they are free.
        return None
    claimed = (
        WebhookDelivery.objects.filter(id=delivery_id, status=Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(subscription__is_active=True)
        .update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    )
    if claimed != 1:
        return None
    delivery = WebhookDelivery.objects.select_related("subscription", "event").get(id=delivery_id)
    subscription, event = delivery.subscription, delivery.event
    body = event_body(event)
    signed_at = timezone.now()
    signatures = [
        Webhook(secret).sign(msg_id=event.public_id, timestamp=signed_at, data=body)
        for secret in signing_secrets(subscription, now=signed_at)
    ]
    headers = {
        "webhook-id": event.public_id,
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": " ".join(signatures),
        "User-Agent": "smartgate-webhooks/1",
    }
    result = _post(subscription.url, body=body.encode(), headers=headers)
    metrics.webhook_attempt_count(status_code=result.status_code, latency_ms=result.latency_ms)
    return _attempt_recorded(delivery_id=delivery_id, at=signed_at, result=result)


@transaction.atomic
def _attempt_recorded(*, delivery_id: int, at: datetime, result: AttemptResult) -> str:
    delivery = WebhookDelivery.objects.select_for_update().select_related("subscription").get(id=delivery_id)
    subscription = delivery.subscription
    WebhookAttempt.objects.create(
        delivery=delivery,
        at=at,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        response_body=result.body,
        error=result.error,
    )
    delivery.attempts += 1
    delivery.claimed_until = None
    now = timezone.now()
    code = result.status_code
    if code is not None and 200 <= code < 300:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = Status.DELIVERED, now, None
        if subscription.failing_since is not None:
            WebhookSubscription.objects.filter(id=subscription.id).update(failing_since=None)
    elif code == 410:
        delivery.status, delivery.next_attempt_at = Status.FAILED, None
        _subscription_disable(subscription, reason="The receiver answered 410 Gone.")
    else:
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = Status.FAILED, None
        else:
            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        if subscription.failing_since is None:
            WebhookSubscription.objects.filter(id=subscription.id, failing_since__isnull=True).update(failing_since=now)
        elif now - subscription.failing_since > FAILING_DISABLES_AFTER:
            _subscription_disable(subscription, reason="Every delivery failed for 3 days.")
    delivery.save(update_fields=["attempts", "claimed_until", "status", "delivered_at", "next_attempt_at"])
    logger.info(
        "webhook.attempt",
        extra={"delivery": delivery.id, "status_code": code, "error": result.error, "outcome": delivery.status},
    )
    return delivery.status


def _subscription_disable(subscription: WebhookSubscription, *, reason: str) -> None:
    """Turn the subscription off (once) and tell its alert address after commit."""
    if not WebhookSubscription.objects.filter(id=subscription.id, is_active=True).update(
        is_active=False, disabled_reason=reason
    ):
        return
    logger.warning(
        "webhook.disabled", extra={"subscription": subscription.id, "company": subscription.company_id, "why": reason}
    )
    if subscription.alert_email:
        subject = f"smartgate: webhook {subscription.url} disabled"
        message = (
            f"smartgate stopped delivering events to {subscription.url} (subscription {subscription.id}): {reason}\n"
            "Its events are still in the event feed (GET /api/v1/events/). Fix the receiver, then turn the "
            f'subscription back on with PATCH /api/v1/webhooks/{subscription.id}/ {{"is_active": true}} and '
            "redeliver what it missed from its delivery log."
        )
        recipient = [subscription.alert_email]
        transaction.on_commit(lambda: send_mail(subject, message, None, recipient, fail_silently=True))


def webhooks_sweep(*, now: datetime | None = None) -> tuple[int, int]:
    """Fan out the events the broker never got to, and send the deliveries that are due (retries, sends
    lost, workers killed). Returns (events fanned out, deliveries sent)."""
    now = now or timezone.now()
    stale_events = list(
        CompanyEvent.objects.filter(fanned_out_at__isnull=True, created_at__lt=now - FAN_OUT_GRACE)
        .order_by("id")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    for event_id in stale_events:
        event_fan_out(event_id=event_id)
    due = list(
        WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now, subscription__is_active=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    for delivery_id in due:
        task_send(WEBHOOK_DELIVER_TASK, queue=WEBHOOKS_QUEUE, args=[delivery_id])
    return len(stale_events), len(due)
