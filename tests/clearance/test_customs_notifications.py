"""The customs system says a VNACCS declaration changed: the crossings carrying it are checked again
before the lane, held in the lane, and the forwarder hears of it."""

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from clearance.models import Check, CompanyEvent, Declaration, DeclarationEvent
from tests.factories import DeclarationFactory, client_for

URL = "/api/v1/customs/notifications/"
Status, Stage, Type = Declaration.Status, Declaration.Stage, CompanyEvent.Type


@pytest.fixture
def customs(db):
    out = io.StringIO()
    call_command("create_customs_client", "--name", "vnaccs-test", stdout=out)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {out.getvalue().strip().splitlines()[-1]}")
    return client


def notify(customs, declaration, *, message_id="m-1", change="channel_changed", **extra):
    number = declaration.customs_declarations.get().number
    return customs.post(URL, {"message_id": message_id, "number": number, "change": change, **extra}, format="json")


def forwarder_types(declaration) -> list[str]:
    return list(
        CompanyEvent.objects.filter(declaration_id=declaration.id).order_by("seq").values_list("type", flat=True)
    )


def test_a_cleared_crossing_before_the_lane_is_checked_again(customs, reference, django_capture_on_commit_callbacks):
    declaration = DeclarationFactory(stage=Status.CLEARED)

    with django_capture_on_commit_callbacks(execute=True):  # the checks run, as the workers would
        response = notify(customs, declaration, detail="Channel moved to yellow.")

    assert response.status_code == 202
    body = response.json()
    assert body["results"] == [{"id": declaration.id, "reference": declaration.reference, "outcome": "rechecking"}]
    assert body["replayed"] is False
    declaration.refresh_from_db()
    assert (declaration.version, declaration.status) == (2, Status.CLEARED)  # checked afresh, cleared again
    assert Check.objects.filter(declaration=declaration, version=2).count() == len(Check.Kind)
    types = forwarder_types(declaration)
    changed = types.index(Type.CUSTOMS_CHANGED)
    assert types[changed + 1 :].count(Type.CHECK_COMPLETED) == 4 and types[-1] == Type.DECLARATION_CLEARED
    event = CompanyEvent.objects.get(declaration_id=declaration.id, type=Type.CUSTOMS_CHANGED)
    assert event.data["change"] == "channel_changed" and "yellow" in event.data["reason"]


def test_a_called_vehicle_goes_back_to_the_queue_while_it_is_checked(customs, reference, tariff):
    declaration = DeclarationFactory(stage=Stage.CALLED)

    response = notify(customs, declaration)

    assert response.json()["results"][0]["outcome"] == "rechecking"
    declaration.refresh_from_db()
    assert (declaration.status, declaration.stage, declaration.lane_id) == (Status.CHECKING, Stage.IN_YARD, None)


def test_a_vehicle_in_the_lane_is_held_for_an_officer(customs, reference, tariff):
    declaration = DeclarationFactory(stage=Stage.IN_LANE)

    response = notify(customs, declaration, change="cancelled")

    assert response.json()["results"][0]["outcome"] == "held"
    declaration.refresh_from_db()
    assert (declaration.status, declaration.stage) == (Status.HELD, Stage.IN_LANE)
    assert forwarder_types(declaration)[-2:] == [Type.CUSTOMS_CHANGED, Type.DECLARATION_HELD]
    kinds = list(declaration.events.values_list("event", flat=True))
    assert kinds[-2:] == [DeclarationEvent.Kind.CUSTOMS_CHANGED, DeclarationEvent.Kind.HELD]


def test_a_crossing_already_over_is_left_alone(customs, reference, tariff):
    declaration = DeclarationFactory(stage=Stage.CROSSED)
    number = Declaration.objects.get(id=declaration.id).customs_declarations.get().number

    response = customs.post(URL, {"message_id": "m-9", "number": number, "change": "amended"}, format="json")

    assert response.status_code == 202 and response.json()["results"] == []  # its numbers are free again
    declaration.refresh_from_db()
    assert declaration.status == Status.CLEARED and declaration.version == 1


def test_a_repeated_message_is_answered_again_not_redone(customs, reference):
    declaration = DeclarationFactory(stage=Status.CLEARED)
    first = notify(customs, declaration)

    again = notify(customs, declaration)

    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["results"] == first.json()["results"]
    declaration.refresh_from_db()
    assert declaration.version == 2
    assert forwarder_types(declaration).count(Type.CUSTOMS_CHANGED) == 1


def test_only_a_customs_system_key_opens_this_door(api, company, reference):
    forwarder = client_for(company).post(URL, {"message_id": "x", "number": "305123456789", "change": "amended"})

    assert forwarder.status_code == 401
    assert APIClient().post(URL, {}).status_code == 401


def test_a_bad_notice_names_its_fields(customs):
    response = customs.post(URL, {"message_id": "m", "number": "12", "change": "renamed"}, format="json")

    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == {"number", "change"}
