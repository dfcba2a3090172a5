"""smartgate.db.postgresql: Django's PostgreSQL backend, its moments read by psycopg's C loader."""

import datetime

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
