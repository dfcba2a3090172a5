"""smartgate.db.postgresql: Django's PostgreSQL backend, its moments read by psycopg's C loader."""

import datetime

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from psycopg.pq import Format

from clearance.models import Check
from smartgate.db.postgresql.base import UTCTimestamptzLoader

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]

TIMESTAMPTZ_OID = 1184


def test_moments_come_back_aware_in_utc_as_djangos_loader_gave_them(reference):
    from tests.factories import DeclarationFactory

    written = datetime.datetime(2027, 2, 10, 6, 30, 15, 123456, tzinfo=timezone.get_fixed_timezone(7 * 60))
    declaration = DeclarationFactory()
    customs = Check.objects.filter(declaration=declaration, kind=Check.Kind.CUSTOMS)
    customs.update(enqueued_at=written)

    (read,) = customs.values_list("enqueued_at", flat=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz, now()", [written])
        raw, now = cursor.fetchone()

    assert read == written and raw == written  # the same instant, to the microsecond
    assert read.tzinfo is datetime.UTC and raw.tzinfo is datetime.UTC and now.tzinfo is datetime.UTC
    assert read.isoformat() == "2027-02-09T23:30:15.123456+00:00"


def test_the_c_loader_stays_on_every_cursor_django_makes():
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)

    # Django re-registers its own loader on a cursor whose loader's time zone differs from its own.
    assert loader is UTCTimestamptzLoader
    assert connection.connection.info.parameter_status("TimeZone") == "UTC"


def admin_connection() -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], dbname=settings["NAME"], autocommit=True
    )


def last_statement(pid: int) -> str:
    """What the server says the backend ``pid`` last ran."""
    with admin_connection() as admin:
        return admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_pool_lends_a_quiet_connection_without_a_round_trip_and_replaces_an_ended_one():
    if connection.pool is None:
        pytest.skip("Django's pool is off (DATABASE_POOL=false, or behind PgBouncer)")
    connection.close()
    connection.close_pool()
    pool = connection.pool
    pool.open(wait=True)  # its minimum of two, both idle
    first, second = pool.getconn(), pool.getconn()
    for conn in (first, second):
        conn.execute("SELECT 'last before lending'")
        pool.putconn(conn)

    lent = pool.getconn()  # the first again: the pool lends its oldest idle connection
    pool.putconn(lent)

    # psycopg's own check would have sent an empty query, and the server would show it as the last.
    assert lent.info.backend_pid == first.info.backend_pid
    assert last_statement(first.info.backend_pid) == "SELECT 'last before lending'"

    # A restart, as PostgreSQL ends every session: the pool lends a live connection, not an error.
    pids = [first.info.backend_pid, second.info.backend_pid]
    with admin_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(pid, 5000) FROM unnest(%s::int[]) AS pid", [pids])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()

    assert pid not in pids
