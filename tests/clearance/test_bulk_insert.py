"""vehicles.bulk keeps the INSERT Django builds for each shape of rows and fills in later rows' values
itself: the statement and parameters it sends must be exactly Django's, or the create writes wrong rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.db.models.functions import Now
from psycopg.types.json import Jsonb

from clearance.models import CompanyEvent
from vehicles import bulk
from vehicles.models import Movement, Yard

pytestmark = [pytest.mark.django_db, pytest.mark.postgresql]
AT = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def movements(count: int, *, with_ids: bool, first: int = 1) -> list[Movement]:
    return [
        Movement(
            id=first + index if with_ids else None,
            plate_read=f"29C-123.{index:02d}",
            normalized_plate=f"29C123{index:02d}",
            kind=Movement.Kind.YARD_IN,
            yard=Yard.objects.get(code="1119-export-yard"),
            occurred_at=AT,
            source="camera",
        )
        for index in range(count)
    ]


def events(count: int, company) -> list[CompanyEvent]:
    return [
        CompanyEvent(company=company, type=CompanyEvent.Type.PING, data={"n": index}, created_at=AT)
        for index in range(count)
    ]


def django_insert(rows, *, ignore_conflicts=False) -> tuple[str, tuple]:
    model = type(rows[0])
    fields = bulk._insert_fields(model, pk_given=rows[0].pk is not None)
    return comparable(bulk._django_insert_sql(model, fields, rows, ignore_conflicts=ignore_conflicts))


def comparable(statement: tuple[str, tuple]) -> tuple[str, tuple]:
    """psycopg's JSON wrappers compare by identity: their documents are compared instead."""
    sql, params = statement
    return sql, tuple(param.obj if isinstance(param, Jsonb) else param for param in params)


@pytest.mark.parametrize(
    "make, ignore_conflicts",
    [
        (lambda company: movements(1, with_ids=True), False),
        (lambda company: movements(3, with_ids=True), False),  # columns as arrays (UNNEST)
        (lambda company: movements(2, with_ids=False), True),
        (lambda company: events(3, company), False),  # txid takes the database's default
    ],
    ids=["one-row", "rows-as-arrays", "no-ids-on-conflict", "database-default"],
)
def test_a_kept_statement_sends_what_django_would_build(reference, company, make, ignore_conflicts):
    bulk._STATEMENTS.clear()
    with time_machine.travel(AT, tick=False):
        first = make(company)
        built = bulk._insert_sql(type(first[0]), first, ignore_conflicts=ignore_conflicts)  # Django's, kept
        later = make(company)
        for row in later:
            if isinstance(row, Movement):
                row.plate_read += "X"
        kept = bulk._insert_sql(type(later[0]), later, ignore_conflicts=ignore_conflicts)

        assert len(bulk._STATEMENTS) == 1
        assert comparable(kept) == django_insert(later, ignore_conflicts=ignore_conflicts)
        assert kept[1] != built[1]  # the later rows' own values, not the first ones'


def test_one_statement_serves_every_number_of_rows_sent_as_arrays(reference):
    bulk._STATEMENTS.clear()
    with time_machine.travel(AT, tick=False):
        bulk._insert_sql(Movement, movements(3, with_ids=True), ignore_conflicts=False)
        five = movements(5, with_ids=True, first=100)
        kept = bulk._insert_sql(Movement, five, ignore_conflicts=False)

        assert len(bulk._STATEMENTS) == 1
        assert comparable(kept) == django_insert(five)


def test_rows_holding_an_expression_or_a_large_batch_are_left_to_django(reference, company):
    bulk._STATEMENTS.clear()
    with time_machine.travel(AT, tick=False):
        bulk._insert_sql(Movement, movements(1, with_ids=True), ignore_conflicts=False)
        stamped = movements(1, with_ids=True)
        stamped[0].occurred_at = Now()  # where the kept statement has a plain value
        sent = bulk._insert_sql(Movement, stamped, ignore_conflicts=False)
        batch = events(bulk.KEPT_VALUES_ROWS + 1, company)  # one VALUES tuple per row: not kept
        bulk._insert_sql(CompanyEvent, batch, ignore_conflicts=False)

        assert "STATEMENT_TIMESTAMP()" in sent[0] and len(sent[1]) == len(comparable(django_insert(stamped))[1])
        assert [shape[0] for shape in bulk._STATEMENTS] == [Movement]


def test_rows_written_from_a_kept_statement_read_back_as_given(reference):
    bulk._STATEMENTS.clear()
    bulk.rows_insert([(movements(3, with_ids=True, first=10_001), False)])
    bulk.rows_insert([(movements(3, with_ids=True, first=10_004), False)])

    stored = Movement.objects.filter(id__gt=10_000).order_by("id")
    assert [(m.id, m.plate_read, m.kind) for m in stored] == [
        (10_000 + n, f"29C-123.{(n - 1) % 3:02d}", Movement.Kind.YARD_IN) for n in range(1, 7)
    ]
