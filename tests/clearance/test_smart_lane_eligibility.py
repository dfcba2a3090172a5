"""Smart-lane eligibility: which goods groups may use a smart lane is data (seeded from the Móng Cái – Đông
Hưng decision: agricultural produce, frozen seafood, electronics); an ineligible crossing is called only to
a traditional lane, by the dispatcher and by a gate operator alike, and its forwarder reads why."""

import io
from datetime import datetime, time

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from clearance import roles
from clearance.audit import Actor
from clearance.errors import Conflict
from clearance.models import Declaration, SmartLaneGoodsGroup
from clearance.services.dispatch import declaration_call_forward, dispatch_run
from tests.factories import DeclarationFactory, notice_has_run
from vehicles.models import LOCAL_TZ, Lane, local_date

pytestmark = pytest.mark.usefixtures("reference")
OPERATOR = Actor.system("gate-operator")
ORE = [
    {
        "hs_code": "26011100",
        "description": "Iron ore, non-agglomerated",
        "quantity": "20000",
        "unit": "KGM",
        "gross_weight_kg": "20000",
        "value": "2400.00",
        "currency": "USD",
        "origin_country": "VN",
    }
]


def morning() -> datetime:
    return datetime.combine(local_date(timezone.now()), time(10, 5), tzinfo=LOCAL_TZ)


def only_open(*codes: str) -> None:
    Lane.objects.update(is_open=False)
    Lane.objects.filter(code__in=codes).update(is_open=True)


def test_the_decisions_goods_groups_are_seeded_and_the_pilots_smart_lanes_marked():
    groups = {group.name: group for group in SmartLaneGoodsGroup.objects.filter(is_active=True)}
    assert len(groups) == 3
    assert any(group.covers("08106000") for group in groups.values())  # durian: agricultural produce
    assert any(group.covers("03034200") for group in groups.values())  # frozen tuna: frozen seafood
    assert any(group.covers("84713020") for group in groups.values())  # laptops: electronics
    assert not any(group.covers("26011100") for group in groups.values())  # iron ore
    assert set(Lane.objects.filter(is_smart=True).values_list("code", flat=True)) == {"1119-EX1", "1119-IM1"}


def test_the_forwarder_reads_why_its_crossing_may_not_use_a_smart_lane(api, declaration_body):
    durian = api.post("/api/v1/declarations/", declaration_body(), format="json")
    ore = api.post(
        "/api/v1/declarations/",
        declaration_body(
            goods=ORE,
            containers=[],
            quarantine_certificates=[],
            vehicle={**declaration_body()["vehicle"], "plate": "12C-999.01"},
            customs_declarations=[{"number": "305000000999", "type": "B11"}],
        ),
        format="json",
    )
    assert ore.status_code == 201, ore.json()

    body = api.get(ore["Location"]).json()
    assert body["smart_lane_eligible"] is False
    assert "26011100" in body["smart_lane_reason"] and "traditional lane" in body["smart_lane_reason"]
    assert (durian.json()["smart_lane_eligible"], durian.json()["smart_lane_reason"]) == (True, "")


def test_an_ineligible_crossing_is_called_only_to_a_traditional_lane():
    ore = DeclarationFactory(n=0, goods=ORE, stage="in_yard")
    laptops = DeclarationFactory(n=1, stage="in_yard")
    notice_has_run()
    only_open("1119-EX1")  # the smart export lane

    assert [declaration.id for declaration in dispatch_run(now=morning())] == [laptops.id]
    assert Declaration.objects.get(id=ore.id).stage == "in_yard"

    only_open("1119-EX1", "1119-REV1")  # a traditional lane opens beside it
    dispatch_run(now=morning())

    called = Declaration.objects.select_related("lane").get(id=ore.id)
    assert (called.stage, called.lane.code, called.lane.is_smart) == ("called", "1119-REV1", False)


def test_a_gate_operator_cannot_call_an_ineligible_crossing_to_a_smart_lane_either():
    ore = DeclarationFactory(n=0, goods=ORE, stage="in_yard")
    notice_has_run()

    with pytest.raises(Conflict) as refused:
        declaration_call_forward(declaration_id=ore.id, lane_id=Lane.objects.get(code="1119-EX1").id, actor=OPERATOR)

    assert refused.value.code == "lane_not_eligible"
    assert "smart lane" in str(refused.value) and "26011100" in str(refused.value)
    declaration_call_forward(declaration_id=ore.id, lane_id=Lane.objects.get(code="1119-EX2").id, actor=OPERATOR)
    assert Declaration.objects.get(id=ore.id).lane.code == "1119-EX2"


def test_amending_the_goods_decides_eligibility_again(api, declaration_body):
    created = api.post("/api/v1/declarations/", declaration_body(goods=ORE, quarantine_certificates=[]), format="json")

    amended = api.patch(created["Location"], {"goods": declaration_body()["goods"]}, format="json", HTTP_IF_MATCH='"1"')

    assert amended.status_code == 200, amended.json()
    assert (amended.json()["smart_lane_eligible"], amended.json()["smart_lane_reason"]) == (True, "")


def test_a_supervisor_edits_the_goods_groups_with_a_reason_and_a_gate_operator_only_reads_them(
    client, api, declaration_body
):
    call_command("setup_roles", stdout=io.StringIO())
    operator = User.objects.create_user(username="operator", password="x", is_staff=True)
    operator.groups.set([Group.objects.get(name=roles.GATE_OPERATOR)])
    supervisor = User.objects.create_user(username="supervisor", password="x", is_staff=True)
    supervisor.groups.set([Group.objects.get(name=roles.SUPERVISOR)])
    body = {
        "name": "Ores (quặng)",
        "hs_prefixes": '["26"]',
        "is_active": "on",
        "change_reason": "Pilot extended to ore",
    }

    client.force_login(operator)
    assert client.get(reverse("admin:clearance_smartlanegoodsgroup_changelist")).status_code == 200
    assert client.post(reverse("admin:clearance_smartlanegoodsgroup_add"), body).status_code == 403
    client.force_login(supervisor)
    assert (
        client.post(reverse("admin:clearance_smartlanegoodsgroup_add"), {**body, "hs_prefixes": '["2"]'}).status_code
        == 200
    )  # refused
    assert client.post(reverse("admin:clearance_smartlanegoodsgroup_add"), body).status_code == 302

    group = SmartLaneGoodsGroup.objects.get(name="Ores (quặng)")
    assert group.history.get().history_change_reason == "Pilot extended to ore"
    created = api.post("/api/v1/declarations/", declaration_body(goods=ORE, quarantine_certificates=[]), format="json")
    assert created.json()["smart_lane_eligible"] is True


def test_an_empty_return_may_use_a_smart_lane(api, declaration_body):
    body = {**declaration_body(direction="import", kind="empty_return"), "quarantine_certificates": []}
    del body["goods"], body["customs_declarations"], body["containers"]

    created = api.post("/api/v1/declarations/", body, format="json")

    assert created.status_code == 201, created.json()
    assert (created.json()["smart_lane_eligible"], created.json()["smart_lane_reason"]) == (True, "")
