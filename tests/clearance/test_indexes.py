"""The tables every crossing writes carry no index another one already gives: a stage change is never a HOT
update (the stage is indexed), so it writes every index of the row, and a redundant one is paid on each."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]

WRITTEN_ON_EVERY_CROSSING = [
    "clearance_declaration",
    "clearance_declarationevent",
    "clearance_companyevent",
    "clearance_check",
    "clearance_gatedecision",
    "vehicles_movement",
]


def indexes(table: str) -> list[tuple[str, list[int], list[int], bool, bool]]:
    """(name, columns, operator classes, partial, unique) of every index of ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, indkey::int2[]::int[], indclass::oid[]::int[], indpred IS NOT NULL, "
            "indisunique FROM pg_index WHERE indrelid = %s::regclass",
            [table],
        )
        return cursor.fetchall()


@pytest.mark.parametrize("table", WRITTEN_ON_EVERY_CROSSING)
def test_no_index_is_the_leading_part_of_another(table):
    found = indexes(table)

    redundant = [
        f"{name} (led by {other})"
        for name, columns, classes, partial, unique in found
        if not unique and not partial
        for other, other_columns, other_classes, other_partial, _ in found
        if other != name
        and not other_partial
        and other_columns[: len(columns)] == columns
        and other_classes[: len(classes)] == classes
    ]

    assert redundant == []


@pytest.mark.parametrize("table", WRITTEN_ON_EVERY_CROSSING)
def test_no_column_has_both_a_partial_index_and_a_full_one(table):
    """A partial index (WHERE … IS NOT NULL) replaced the full one of a column most rows leave empty. (A partial
    unique index is a rule, not a replacement: the vehicle's one active crossing beside all its crossings.)"""
    found = indexes(table)
    partial = {tuple(columns) for _name, columns, _classes, is_partial, unique in found if is_partial and not unique}

    doubled = [
        name
        for name, columns, _classes, is_partial, unique in found
        if not is_partial and not unique and len(columns) == 1 and tuple(columns) in partial
    ]

    assert doubled == []
