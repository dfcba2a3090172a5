"""A Redis cache that fails soft: the API stays up when Redis does not.

The cache holds nothing the service cannot do without (throttle counters, the public load for a few
seconds). With Redis unreachable, a read is a miss and a write is dropped, so throttling fails open and the
load is computed afresh; each failure is counted and logged (at most once per ``LOG_EVERY_SECONDS``).
Short socket timeouts (settings ``CACHES``) keep a stopped Redis from holding requests up.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 10.0


class _Failures:
    def __init__(self) -> None:
        self.count = 0
        self._last_logged = 0.0
        self._lock = threading.Lock()

    def record(self, operation: str, error: Exception) -> None:
        with self._lock:
            self.count += 1
            now = time.monotonic()
            if now - self._last_logged < LOG_EVERY_SECONDS:
                return
            self._last_logged = now
        logger.warning("cache.unavailable", extra={"operation": operation, "error": str(error), "failures": self.count})


failures = _Failures()


class FailSoftRedisCache(RedisCache):
    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except RedisError as error:
            failures.record("get", error)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except RedisError as error:
            failures.record("get_many", error)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except RedisError as error:
            failures.record("has_key", error)
            return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set(key, value, timeout, version)
        except RedisError as error:
            failures.record("set", error)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().add(key, value, timeout, version)
        except RedisError as error:
            failures.record("add", error)
            return False

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set_many(data, timeout, version)
        except RedisError as error:
            failures.record("set_many", error)
            return list(data)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except RedisError as error:
            failures.record("touch", error)
            return False

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except RedisError as error:
            failures.record("delete", error)
            return False
