"""Django's PostgreSQL backend, reading moments with psycopg's own C loader, its pool checking connections
without a round trip.

Django registers a ``timestamptz`` loader of its own, a Python subclass of psycopg's, so that every moment
comes back in UTC. Being Python, it costs about 9 µs a value on this machine against psycopg's 0.5 µs in C,
and the hot reads carry many: a check's lock reads some 60 (four checks, each with its declaration), a list
page some 500. Django sets each connection's session to UTC (``USE_TZ`` on and no ``TIME_ZONE`` for the
database), and in a UTC session psycopg's C loader gives the same values Django's does: aware, in
``datetime.UTC``. This backend registers it, wrapped so that Django still finds on the loader the time zone
it compares with its own before every cursor. Anything else (psycopg without its C extension, another time
zone) keeps Django's loader.

Django's pool (``CONN_HEALTH_CHECKS`` on) checks every connection it lends with psycopg's
``ConnectionPool.check_connection``: an empty query, a round trip before every request and every task
(about a tenth of a gate decision's time). ``check_connection_quietly`` replaces it (see its docstring).
"""

import datetime
import select
from functools import lru_cache

import psycopg
from django.db.backends.postgresql import base
from psycopg.adapt import AdaptersMap, Loader
from psycopg_pool import ConnectionPool

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


def check_connection_quietly(conn: psycopg.Connection) -> None:
    """The pool's check of a connection before lending it, with no round trip while the connection is quiet.

    A server that ends a session (a restart, ``pg_terminate_backend``, an idle timeout) sends a FATAL message
    and closes the socket; either makes the idle connection's socket readable. An idle connection has nothing
    else to read: it runs no LISTEN and no query. So a connection with nothing to read is lent as it is, and
    one with something waiting gets psycopg's check, which reads it and raises when the session has ended
    (the pool then drops the connection and lends another). A server gone without closing its sockets (a
    host lost, a cable cut) is seen by neither check in time: psycopg's would wait for TCP to give up."""
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    if poller.poll(0):  # data, a hang-up or an error
        ConnectionPool.check_connection(conn)


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        pool = super().pool
        # Django builds the pool with psycopg's check and no way to pass another; it is swapped once.
        if pool is not None and getattr(pool, "_check", None) is ConnectionPool.check_connection:
            pool._check = check_connection_quietly
        return pool

    def get_connection_params(self):
        params = super().get_connection_params()
        if _CTimestamptzLoader is not None and self.timezone is datetime.UTC and "context" in params:
            params["context"] = _with_c_timestamps(params["context"])
        return params
