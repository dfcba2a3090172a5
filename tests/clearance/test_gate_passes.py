"""Signed gate passes and the revocation list, as a lane device fetches them, and the offline upload's
reconciliation seen by the officers.

Each situation is built through the API and the services (DeclarationFactory); the tokens are verified
with the public keys the centre publishes, by the same pure code the lane agent runs (clearance.gate_pass).
"""

import io
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from clearance import gate_pass, roles
from clearance.audit import Actor
from clearance.gate_pass_keys import new_key_line
from clearance.models import Declaration, GatePass, OfflineDecision
from clearance.services.lanes import lane_set_open
from tests.clearance.test_gate_decision import client_with_key, create_device
from tests.factories import DeclarationFactory, _pay, truck_plate_read
from vehicles.models import Lane

Stage = Declaration.Stage
LANE = "1119-EX1"

pytestmark = pytest.mark.usefixtures("tariff")


@pytest.fixture
def lane_device(reference):
    return client_with_key(create_device("lane_gate", lane=LANE))


def published_keys() -> dict:
    keys = APIClient().get("/api/v1/gate/keys/").json()["keys"]
    return {key["kid"]: gate_pass.public_key_from_text(key["public_key"]) for key in keys}


def passes(device, **query) -> list[dict]:
    response = device.get("/api/v1/gate/passes/", {"lane": LANE, **query})
    assert response.status_code == 200, response.json()
    return response.json()["passes"]


def test_a_called_and_paid_vehicle_has_a_pass_the_lane_verifies_with_the_published_keys(lane_device):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED)

    [issued] = passes(lane_device)
    payload = gate_pass.verify(issued["token"], published_keys(), kind=gate_pass.PASS)

    assert (payload["decl"], payload["ref"], payload["plate"]) == (
        declaration.id,
        declaration.reference,
        declaration.vehicle.normalized_plate,
    )
    assert (payload["route"], payload["dir"], payload["lane"]) == ("1119-1120", "export", LANE)
    assert payload["nbf"] <= timezone.now().timestamp() < payload["exp"]
    assert payload["kid"] == issued["key_id"]


def test_an_altered_pass_does_not_verify(lane_device):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    [issued] = passes(lane_device)
    body, signature = issued["token"].split(".")
    other_lane = body[:-4] + ("AAAA" if not body.endswith("AAAA") else "BBBB")

    with pytest.raises(gate_pass.InvalidToken):
        gate_pass.verify(f"{other_lane}.{signature}", published_keys(), kind=gate_pass.PASS)


def test_the_pass_comes_with_the_payment_not_before(lane_device):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED, paid=False)
    assert passes(lane_device) == []

    _pay(declaration)  # the provider's confirmation

    assert [item["declaration"] for item in passes(lane_device)] == [declaration.id]


def test_a_device_fetches_only_its_own_lanes_passes(lane_device, reference):
    assert lane_device.get("/api/v1/gate/passes/", {"lane": "1119-EX2"}).status_code == 403
    assert lane_device.get("/api/v1/gate/revocations/", {"lane": "1119-EX2"}).status_code == 403
    yard_camera = client_with_key(create_device("yard_gate", yard="1119-export-yard"))
    assert yard_camera.get("/api/v1/gate/passes/").status_code == 403
    assert APIClient().get("/api/v1/gate/passes/").status_code == 401


def test_a_pass_withdrawn_after_issue_is_in_the_signed_revocation_list(lane_device, settings):
    settings.SMARTGATE_GATE_REVOCATION_OVERLAP_SECONDS = 0
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED)
    [issued] = passes(lane_device)
    first = lane_device.get("/api/v1/gate/revocations/", {"lane": LANE}).json()
    assert first["revocations"] == []

    # The lane's barrier fails: the gate operator closes it and its called vehicles go back to the queue.
    lane_set_open(lane_id=Lane.objects.get(code=LANE).id, is_open=False, actor=Actor.system(), reason="Fault")
    listing = lane_device.get("/api/v1/gate/revocations/", {"lane": LANE, "since": first["next_since"]}).json()
    signed = gate_pass.verify(listing["signed"], published_keys(), kind=gate_pass.REVOCATIONS)
    later = lane_device.get("/api/v1/gate/revocations/", {"lane": LANE, "since": listing["next_since"]}).json()

    assert [(item["gate_pass"], item["declaration"], item["reason"]) for item in listing["revocations"]] == [
        (issued["id"], declaration.id, "call_withdrawn")
    ]
    assert [item[:2] for item in signed["items"]] == [[issued["id"], declaration.vehicle.normalized_plate]]
    assert later["revocations"] == []
    assert passes(lane_device) == []


def test_since_at_the_ends_of_the_calendar_is_answered_never_a_server_error(lane_device):
    for since in ("0001-01-01T00:00:00Z", "2026-11-30T08:00:00+23:59"):
        response = lane_device.get("/api/v1/gate/revocations/", {"since": since})

        assert response.status_code == 200, response.json()
        assert response.json()["revocations"] == []
    # Before the first moment there is: refused, naming the field.
    response = lane_device.get("/api/v1/gate/revocations/", {"since": "0001-01-01T00:00:00+23:59"})
    assert (response.status_code, response.json()["errors"][0]["field"]) == (400, "since")


def test_a_bad_since_is_refused_naming_the_field(lane_device):
    response = lane_device.get("/api/v1/gate/revocations/", {"since": "yesterday"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "since"


def test_keys_rotate_by_key_id_and_passes_signed_before_still_verify(lane_device, settings):
    old = new_key_line()
    settings.SMARTGATE_GATE_PASS_KEYS = old
    DeclarationFactory(n=0, stage=Stage.CALLED)
    [before] = passes(lane_device)

    new = new_key_line()
    settings.SMARTGATE_GATE_PASS_KEYS = f"{new},{old}"  # the new key signs; the old one is still published
    DeclarationFactory(n=1, stage=Stage.CALLED)
    after = next(item for item in passes(lane_device) if item["id"] != before["id"])
    keys = APIClient().get("/api/v1/gate/keys/").json()["keys"]

    assert [(key["kid"], key["signing"]) for key in keys] == [(new.split(":")[0], True), (old.split(":")[0], False)]
    assert before["key_id"] == old.split(":")[0] and after["key_id"] == new.split(":")[0]
    for item in (before, after):
        gate_pass.verify(item["token"], published_keys(), kind=gate_pass.PASS)


# --- The offline upload ------------------------------------------------------------------------------


def offline_open(n: int, *, token: str = "", at=None) -> dict:
    return {
        "decision_id": str(uuid.uuid4()),
        "plate": truck_plate_read(n),
        "read_at": (at or timezone.now()).isoformat(),
        "confidence": "0.970",
        "decision": "open",
        "reasons": [],
        "gate_pass": token,
    }


def test_an_open_without_a_genuine_pass_is_a_conflict_and_changes_nothing(lane_device):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED)

    answer = lane_device.post(
        "/api/v1/gate/reads/offline/", {"decisions": [offline_open(0, token="forged.x")]}, format="json"
    )

    assert answer.status_code == 200, answer.json()
    assert (answer.json()["conflicts"], answer.json()["results"][0]["conflict"]) == (1, "pass_invalid")
    declaration.refresh_from_db()
    assert declaration.stage == Stage.CALLED


def test_an_offline_open_applied_moves_the_vehicle_into_the_lane_at_its_own_time(lane_device):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED)
    [issued] = passes(lane_device)
    at = timezone.now().replace(microsecond=0) + timedelta(seconds=2)

    answer = lane_device.post(
        "/api/v1/gate/reads/offline/", {"decisions": [offline_open(0, token=issued["token"], at=at)]}, format="json"
    ).json()

    assert (answer["applied"], answer["results"][0]["outcome"]) == (1, "applied")
    declaration.refresh_from_db()
    assert (declaration.stage, declaration.in_lane_at) == (Stage.IN_LANE, at)


def test_an_open_the_centre_overtook_meanwhile_is_a_conflict(lane_device):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED)
    [issued] = passes(lane_device)
    opened_at = timezone.now()
    # The barrier opened offline; the centre, not knowing, closes the lane: the truck is sent back to the queue.
    lane_set_open(lane_id=Lane.objects.get(code=LANE).id, is_open=False, actor=Actor.system(), reason="Fault")

    answer = lane_device.post(
        "/api/v1/gate/reads/offline/",
        {"decisions": [offline_open(0, token=issued["token"], at=opened_at)]},
        format="json",
    ).json()

    assert answer["results"][0]["conflict"] == "moved_on"
    declaration.refresh_from_db()
    assert declaration.stage == Stage.IN_YARD  # left for the officer to sort out


def test_an_upload_is_validated_field_by_field(lane_device):
    wrong = {**offline_open(0), "reasons": ["fee_unpaid"]}
    held_without_reason = {**offline_open(0), "decision": "hold"}

    response = lane_device.post(
        "/api/v1/gate/reads/offline/", {"decisions": [wrong, held_without_reason]}, format="json"
    )

    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == {"decisions[0].reasons", "decisions[1].reasons"}


def test_a_decision_id_is_one_devices(lane_device, reference):
    decision = offline_open(0)
    assert lane_device.post("/api/v1/gate/reads/offline/", {"decisions": [decision]}, format="json").status_code == 200
    other = client_with_key(create_device("lane_gate", lane="1119-EX2"))

    response = other.post("/api/v1/gate/reads/offline/", {"decisions": [decision]}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "decision_id_in_use"


def test_officers_review_the_conflicts_and_the_dashboard_counts_them(lane_device, client):
    call_command("setup_roles", stdout=io.StringIO())
    DeclarationFactory(n=0, stage=Stage.CALLED)
    lane_device.post(
        "/api/v1/gate/reads/offline/",
        {
            "decisions": [
                offline_open(0, token="forged.x"),
                {**offline_open(5), "decision": "hold", "reasons": ["no_gate_pass"]},
            ]
        },
        format="json",
    )
    operator = get_user_model().objects.create_user(username="gate-op", password="x", is_staff=True)
    operator.groups.add(Group.objects.get(name=roles.GATE_OPERATOR))
    client.force_login(operator)

    listed = client.get(reverse("admin:clearance_offlinedecision_changelist"), {"reviewed": "no"})
    dashboard = client.get(reverse("admin:dashboard"))
    conflict = OfflineDecision.objects.get(outcome=OfflineDecision.Outcome.CONFLICT)
    reviewed = client.post(
        reverse("admin:clearance_offlinedecision_changelist"),
        {"action": "review", "_selected_action": [conflict.id], "confirmed": "yes", "reason": "Driver checked: ok"},
    )

    assert (
        listed.status_code == 200 and "pass_invalid" in listed.content.decode() or "genuine" in listed.content.decode()
    )
    assert list(listed.context["cl"].result_list) == [conflict]  # as listed, before the review
    assert dashboard.context["figures"]["offline"] == {"decisions": 2, "conflicts": 1, "unreviewed": 1}
    assert 'id="offline"' in dashboard.content.decode()
    assert reviewed.status_code == 302
    conflict.refresh_from_db()
    assert (conflict.reviewed_by, conflict.review_note) == (operator, "Driver checked: ok")
    assert GatePass.objects.count() == 1
