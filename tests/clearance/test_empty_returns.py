"""Empty returns: a truck going home empty is declared with kind ``empty_return`` (no goods, no customs
declaration numbers), checked by the border guard only (and the health force in an epidemic period), pays
the empty-vehicle fee, and queues and crosses like any other."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from clearance.models import Declaration, WatchlistEntry
from clearance.services.dispatch import dispatch_run
from tests.factories import DeclarationFactory, TruckBody, notice_has_run, truck_plate
from vehicles.models import LOCAL_TZ, Lane, local_date

pytestmark = pytest.mark.usefixtures("reference", "tariff")


def empty_return(n: int = 0, **overrides) -> dict:
    """The n-th truck going home empty across 1119–1120 (import, Vietnam-bound), arriving tomorrow."""
    body = TruckBody(n=n, direction="import", kind="empty_return", **overrides)
    del body["customs_declarations"], body["goods"]
    return body


def local(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(local_date(timezone.now()), time(hour, minute), tzinfo=LOCAL_TZ)


def test_an_empty_return_is_checked_by_the_border_guard_only_and_pays_the_empty_vehicle_fee(
    api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/declarations/", empty_return(), format="json")
    assert created.status_code == 201, created.json()

    body = api.get(created["Location"]).json()
    assert (body["kind"], body["status"], body["channel"]) == ("empty_return", "cleared", None)
    assert (body["goods"], body["customs_declarations"]) == ([], [])
    checks = {check["kind"]: check for check in body["checks"]}
    assert {kind: check["outcome"] for kind, check in checks.items()} == {
        "border_guard": "pass",
        "customs": "not_required",
        "quarantine": "not_required",
        "health": "not_required",
    }
    assert [r["code"] for r in checks["customs"]["reasons"]] == ["no_goods_to_check"]
    assert body["smart_lane_eligible"] is True and body["smart_lane_reason"] == ""
    fee = body["fee"]
    assert (fee["amount_vnd"], fee["journey"]) == (100_000, "empty_return")
    assert (fee["breakdown"]["basis"], fee["breakdown"]["class"]) == ("empty_vehicle", "max")


def test_a_light_empty_truck_pays_the_lower_empty_class(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/declarations/", empty_return(vehicle__max_gross_weight_kg=8000), format="json")

    fee = api.get(created["Location"]).json()["fee"]
    assert (fee["amount_vnd"], fee["breakdown"]["class"]) == (50_000, "10000")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("goods", TruckBody()["goods"]),
        ("customs_declarations", [{"number": "107000000001", "type": "A11"}]),
        ("containers", [{"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]}]),
    ],
)
def test_goods_customs_numbers_or_containers_sent_with_an_empty_return_are_refused(api, field, value):
    response = api.post("/api/v1/declarations/", {**empty_return(), field: value}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == (field, "not_for_empty_return")
    assert "empty return" in error["message"] and "cargo" in error["message"]
    assert not Declaration.objects.exists()


def test_empty_lists_are_accepted_and_a_cargo_declaration_still_needs_goods(api):
    assert (
        api.post(
            "/api/v1/declarations/", {**empty_return(), "goods": [], "customs_declarations": []}, format="json"
        ).status_code
        == 201
    )
    cargo = TruckBody(n=1)
    del cargo["goods"]
    response = api.post("/api/v1/declarations/", cargo, format="json")
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("goods", "required")]


def test_an_empty_return_cannot_be_amended_into_cargo(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/declarations/", empty_return(), format="json")

    goods = api.patch(created["Location"], {"goods": TruckBody()["goods"]}, format="json", HTTP_IF_MATCH='"1"')
    kind = api.patch(created["Location"], {"kind": "cargo"}, format="json", HTTP_IF_MATCH='"1"')

    assert [(e["field"], e["code"]) for e in goods.json()["errors"]] == [("goods", "not_for_empty_return")]
    assert [(e["field"], e["code"]) for e in kind.json()["errors"]] == [("kind", "not_amendable")]


def test_the_border_guard_still_stops_an_empty_truck(api, django_capture_on_commit_callbacks):
    WatchlistEntry.objects.create(kind="vehicle", plate=truck_plate(0), action="deny", reason="Smuggling case")

    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/declarations/", empty_return(), format="json")

    assert api.get(created["Location"]).json()["status"] == "rejected"


def test_an_empty_return_queues_is_called_and_crosses_paying_the_empty_vehicle_fee(api):
    declaration = DeclarationFactory(
        n=0, direction="import", kind="empty_return", customs_declarations=[], goods=[], stage="crossed"
    )

    body = api.get(f"/api/v1/declarations/{declaration.id}/").json()
    assert (body["stage"], body["kind"]) == ("crossed", "empty_return")
    assert (body["fee"]["status"], body["fee"]["amount_vnd"], body["fee"]["journey"]) == (
        "paid",
        100_000,
        "empty_return",
    )
    trail = api.get(f"/api/v1/declarations/{declaration.id}/events/?limit=200").json()["results"]
    events = [event["event"] for event in trail]
    assert {"arrived_in_yard", "called", "entered_lane", "crossed", "fee_paid"} <= set(events)


def test_the_empty_return_lane_takes_empty_trucks_and_no_loaded_one():
    loaded = DeclarationFactory(n=1, direction="import", stage="in_yard")
    empty = DeclarationFactory(
        n=0, direction="import", kind="empty_return", customs_declarations=[], goods=[], stage="in_yard"
    )
    notice_has_run()
    Lane.objects.exclude(code="1119-ER1").update(is_open=False)

    called = dispatch_run(now=local(23))  # the empty-return lane works at night (22:00–06:00)

    assert [declaration.id for declaration in called] == [empty.id]
    assert Declaration.objects.get(id=empty.id).lane.code == "1119-ER1"
    assert Declaration.objects.get(id=loaded.id).stage == "in_yard"


def test_by_day_an_empty_truck_uses_a_cargo_lane_of_its_direction():
    empty = DeclarationFactory(
        n=0,
        direction="import",
        kind="empty_return",
        customs_declarations=[],
        goods=[],
        stage="called",
        called_at=local(10, 5),  # the empty-return lane is closed by day
    )

    assert (empty.lane.purpose, empty.lane.current_direction) == ("cargo", "import")


def test_an_empty_return_keeps_the_pre_arrival_notice(api):
    response = api.post(
        "/api/v1/declarations/",
        {**empty_return(), "expected_arrival": (timezone.now() + timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("expected_arrival", "arrival_too_soon")]
