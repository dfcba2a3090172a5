"""Strict reading of settings from the environment.

django-environ parses the values; this module makes a malformed one fail at start with a message
that names the variable and says what is accepted (Healthchecks' strict ``envbool``), instead of
silently falling back to a default.
"""

from __future__ import annotations

import ipaddress
from decimal import Decimal, InvalidOperation

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_DATABASE_ENGINES = {
    "django.db.backends.postgresql": "postgres://",
    "django.db.backends.sqlite3": "sqlite://",
}


def env_str(name: str, default: str | None = None) -> str | None:
    return env.str(name, default=default)


def env_bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="")
    if raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use one of: true, false, 1, 0, yes, no, on, off.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}.")
    return value


def env_decimal(name: str, default: str, *, minimum=None, maximum=None) -> Decimal:
    raw = env.str(name, default="") or default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ImproperlyConfigured(f"{name}={raw} is outside {minimum}–{maximum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env.str(name, default="")
    if raw == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str, default: list[str]) -> list[str]:
    """Comma-separated addresses or networks (``127.0.0.1``, ``10.0.0.0/8``, ``::1``)."""
    values = env_list(name, default=default)
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {value!r} is not an IP address or network.") from None
    return values


def env_database(name: str, default: str) -> dict:
    raw = env.str(name, default=default)
    try:
        config = env.db_url_config(raw)
    except Exception as error:  # django-environ raises several types for a bad URL
        raise ImproperlyConfigured(f"{name} could not be parsed: {error}") from None
    if config.get("ENGINE") not in _DATABASE_ENGINES:
        accepted = ", ".join(_DATABASE_ENGINES.values())
        raise ImproperlyConfigured(f"{name}={raw!r} names an unsupported database; accepted schemes: {accepted}.")
    if config["ENGINE"] == "django.db.backends.postgresql" and not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}={raw!r} names no database (postgres://user@host:port/<name>).")
    return config


def env_url(name: str, *, schemes: tuple[str, ...]) -> str | None:
    raw = env.str(name, default="")
    if raw == "":
        return None
    if not raw.startswith(tuple(f"{scheme}://" for scheme in schemes)):
        accepted = ", ".join(f"{scheme}://" for scheme in schemes)
        raise ImproperlyConfigured(f"{name}={raw!r} is not a URL this service accepts; use {accepted}.")
    return raw
