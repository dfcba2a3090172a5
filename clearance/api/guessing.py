"""Failed API-key guesses are counted per client address; past the limit that address is refused (429)
until the window ends, before any key is looked up or hashed.

The counters live in the cache (Redis in production). When the cache cannot be reached, guesses are not
counted and nobody is refused: a cache outage never takes the API down (fail open, logged).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions

logger = logging.getLogger(__name__)


def _key(request) -> str:
    return f"api-key-failures:{request.META.get('REMOTE_ADDR', '')}"


def guessing_refuse(request) -> None:
    """Raises Throttled when this address has failed too often within the window."""
    try:
        failures = cache.get(_key(request), 0)
    except Exception:
        logger.warning("api_key_guesses.cache_unavailable", exc_info=True)
        return
    if failures >= settings.SMARTGATE_API_KEY_FAILURE_LIMIT:
        raise exceptions.Throttled(
            wait=settings.SMARTGATE_API_KEY_FAILURE_WINDOW_SECONDS,
            detail="Too many requests with an unknown API key from this address; try again later.",
        )


def guessing_record_failure(request) -> None:
    key = _key(request)
    try:
        # add() starts the window on the first failure; incr() never extends it.
        if not cache.add(key, 1, timeout=settings.SMARTGATE_API_KEY_FAILURE_WINDOW_SECONDS):
            cache.incr(key)
    except ValueError:
        pass  # the window ended between add() and incr()
    except Exception:
        logger.warning("api_key_guesses.cache_unavailable", exc_info=True)
        return
    logger.info("api_key_guesses.failed", extra={"address": request.META.get("REMOTE_ADDR", "")})
