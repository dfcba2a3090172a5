"""The API's JSON is written by orjson (clearance.api.renderers) and must be byte for byte what DRF's own
renderer writes: clients compare bodies, and an idempotent retry is answered with the stored bytes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework import renderers

from clearance.api.renderers import JSONRenderer
from clearance.models import Declaration
from tests.factories import DeclarationFactory, container


def drf(data, media_type=None) -> bytes:
    return renderers.JSONRenderer().render(data, media_type)


def ours(data, media_type=None) -> bytes:
    return JSONRenderer().render(data, media_type)


def test_values_orjson_would_write_differently_are_written_as_drf_writes_them():
    data = {
        "utc_with_microseconds": datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=UTC),
        "in_hanoi": datetime(2026, 12, 1, 15, 30, tzinfo=timezone.get_fixed_timezone(420)),
        "day": date(2026, 12, 1),
        "amount": Decimal("123456789012345.67"),
        "lazy": gettext_lazy("This field is required."),
        "stage": Declaration.Stage.IN_YARD,
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "wait": timedelta(minutes=90),
        "by_lane": {7: "1119-EX1"},
        "plates": ("29C12345", "12C00001"),
        "separators": "line\u2028paragraph\u2029",
        "vietnamese": "Nguyễn Văn An",
    }

    assert ours(data) == drf(data)
    assert b'"utc_with_microseconds":"2026-12-01T08:30:15.123456Z"' in ours(data)
    assert b"\\u2028" in ours(data)


def test_a_pretty_printed_answer_and_a_huge_integer_still_render():
    assert ours({"a": [1, 2]}, "application/json; indent=4") == drf({"a": [1, 2]}, "application/json; indent=4")
    assert ours({"big": 2**70}) == b'{"big":1180591620717411303424}'
    assert ours(None) == b""


def test_where_the_two_differ_the_api_sends_no_such_value():
    # Known and accepted (clearance/api/renderers.py): the API's floats are rounded, decimals are strings,
    # and NaN is refused at the parser and by every decimal field.
    assert (drf({"x": 1e-05}), ours({"x": 1e-05})) == (b'{"x":1e-05}', b'{"x":0.00001}')
    assert ours({"x": float("nan")}) == b'{"x":null}'
    with pytest.raises(ValueError):
        drf({"x": float("nan")})


@pytest.mark.django_db
def test_a_list_page_is_the_same_bytes_as_drf_would_send(api, company):
    DeclarationFactory(company=company, containers=[container(1), container(2)])
    DeclarationFactory(company=company)

    response = api.get("/api/v1/declarations/")

    assert response.status_code == 200
    assert response.content == drf(response.data)  # the view's own data: times, decimals, enums
