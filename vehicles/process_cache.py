"""Rows that rarely change (lanes and devices, verified API keys, which companies subscribe to webhooks)
kept in each web process's memory, so the hot paths (the barrier's decision, every authenticated request)
do not read them from PostgreSQL each time.

Freshness, which matters for a closed lane or a revoked key:
- a change saved through the ORM (admin, services, management commands) drops the cache at once in the
  process that made it, and, once its transaction has committed, moves the cache's version in the shared
  cache (Redis in production); every other process looks at that version at most every
  ``VERSION_POLL_SECONDS`` (1 s), so it drops its copies within a second;
- every entry is also forgotten after its ``max_age`` (``SMARTGATE_PROCESS_CACHE_SECONDS``, 30 s), which
  bounds what a change made behind the ORM's back (``QuerySet.update``, raw SQL) or a Redis outage can
  leave stale.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Hashable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger(__name__)

# How often a process asks the shared cache whether another process changed a cached kind of row.
VERSION_POLL_SECONDS = 1.0
# A process keeps at most this many entries per cache (verified keys are the only open-ended kind).
MAX_ENTRIES = 10_000

_registry: list[ProcessCache] = []


class ProcessCache:
    """A per-process map of loaded values, dropped on change (see the module's docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._version: object = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        _registry.append(self)

    @property
    def _version_key(self) -> str:
        return f"process-cache-version:{self.name}"

    def _poll_version(self, now: float) -> None:
        if now - self._checked_at < VERSION_POLL_SECONDS:
            return
        self._checked_at = now
        try:
            version = cache.get(self._version_key)
        except Exception:  # an unreachable cache: the entries' age still bounds what can be missed
            logger.warning("process_cache.version_unavailable", extra={"cache": self.name}, exc_info=True)
            return
        if version != self._version:
            self._version = version
            self._entries.clear()

    def get(self, key: Hashable) -> Any:
        """The value cached for ``key``, None when there is none (or it is too old, or was changed)."""
        now = time.monotonic()
        self._poll_version(now)
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        return None

    def set(self, key: Hashable, value: Any) -> None:
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + settings.SMARTGATE_PROCESS_CACHE_SECONDS, value)

    def clear_local(self) -> None:
        with self._lock:
            self._entries.clear()

    def changed(self) -> None:
        """Something this cache holds was changed: drop it here now, and everywhere once committed."""
        self.clear_local()
        transaction.on_commit(self._publish_change)

    def _publish_change(self) -> None:
        self.clear_local()  # a load between the change and its commit may have cached the old row
        try:
            cache.set(self._version_key, uuid.uuid4().hex, timeout=None)
        except Exception:
            logger.warning("process_cache.version_unavailable", extra={"cache": self.name}, exc_info=True)


def clear_all_process_caches() -> None:
    """Forget every cached row in this process, and the shared version last seen (tests start from nothing,
    with the shared cache emptied: a version left from an earlier test would drop the new entries at the
    next poll, a second later, in the middle of whatever the test measures)."""
    for process_cache in _registry:
        with process_cache._lock:
            process_cache._entries.clear()
            process_cache._version = None
            process_cache._checked_at = 0.0


def invalidate_on_change(process_cache: ProcessCache, *models) -> None:
    """Drop ``process_cache`` whenever a row of one of ``models`` is saved or deleted through the ORM."""

    def receiver(**_kwargs) -> None:
        process_cache.changed()

    for model in models:
        for signal in (post_save, post_delete):
            signal.connect(
                receiver, sender=model, weak=False, dispatch_uid=f"process-cache:{process_cache.name}:{model.__name__}"
            )


# Device keys verified in this process, with their device, its lane and its yard (the barrier's hot path).
device_keys = ProcessCache("device-keys")
# The routes by code, each with its gate (one entry, key None): a declaration names its route by code.
routes = ProcessCache("routes")


def routes_by_code() -> dict:
    """Every route by its code, each with its gate loaded (reference data: no query per declaration)."""
    from vehicles.models import Route

    by_code = routes.get(None)
    if by_code is None:
        by_code = {route.code: route for route in Route.objects.select_related("gate").order_by("code")}
        routes.set(None, by_code)
    return by_code
