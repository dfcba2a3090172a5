"""Django's PostgreSQL backend, reading moments with psycopg's own C loader.

Django registers a ``timestamptz`` loader of its own, a Python subclass of psycopg's, so that every moment
comes back in UTC. Being Python, it costs about 9 µs a value on this machine against psycopg's 0.5 µs in C,
and the hot reads carry many: a check's lock reads some 60 (four checks, each with its declaration), a list
page some 500. Django sets each connection's session to UTC (``USE_TZ`` on and no ``TIME_ZONE`` for the
database), and in a UTC session psycopg's C loader gives the same values Django's does: aware, in
``datetime.UTC``. This backend registers it, wrapped so that Django still finds on the loader the time zone
it compares with its own before every cursor. Anything else (psycopg without its C extension, another time
zone) keeps Django's loader.
"""

import datetime
from functools import lru_cache

from django.db.backends.postgresql import base
from psycopg.adapt import AdaptersMap, Loader

try:
    from psycopg_binary._psycopg import TimestamptzLoader as _CTimestamptzLoader
except ImportError:  # psycopg's pure-Python build: Django's loader is as fast as any
    _CTimestamptzLoader = None


class UTCTimestamptzLoader(Loader):
    """psycopg's C loader of ``timestamptz`` text, with the ``timezone`` Django's ``create_cursor`` reads."""

    timezone = datetime.UTC

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        self._loader = _CTimestamptzLoader(oid, context)
        # psycopg calls ``load`` once a value: the C method itself, not this class's Python one below.
        self.load = self._loader.load

    def load(self, data):
        return self._loader.load(data)


@lru_cache
def _with_c_timestamps(template: AdaptersMap) -> AdaptersMap:
    context = AdaptersMap(template)
    context.register_loader("timestamptz", UTCTimestamptzLoader)
    return context


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if _CTimestamptzLoader is not None and self.timezone is datetime.UTC and "context" in params:
            params["context"] = _with_c_timestamps(params["context"])
        return params
