"""The fourth force: border health quarantine (kiểm dịch y tế) of the driver and crew.

The province's epidemic period is set by a supervisor in the admin; the health force keeps its list of
people to be tested there. Declarations go through the API, their checks run as the workers run them (the
tasks sent after commit, in-process here), and the forwarder reads the outcome on the declaration.
"""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from clearance import roles
from clearance.models import Check, EpidemicMode, HealthFlag, Inspection
from clearance.services.checks import check_run
from clearance.services.operations import officer_token_issue
from tests.factories import DeclarationFactory, arrival_in, quarantine_certificate

HEALTHY = {"temperature_c": "36.6", "symptoms": False, "close_contact": False}


@pytest.fixture
def staff(db):
    """Officers by role: ``staff("supervisor")`` gives a user in that group."""
    call_command("setup_roles", stdout=io.StringIO())
    groups = {
        "supervisor": roles.SUPERVISOR,
        "health": roles.HEALTH_OFFICER,
        "border_guard": roles.BORDER_GUARD_OFFICER,
        "quarantine": roles.QUARANTINE_OFFICER,
    }

    def make(role: str) -> User:
        user = User.objects.create_user(username=f"{role}-officer", password="not-used", is_staff=True)
        user.groups.set([Group.objects.get(name=groups[role])])
        return user

    return make


@pytest.fixture
def epidemic(client, staff):
    """A supervisor switches the epidemic period on in the admin, from an hour ago, with its reason."""

    def switch_on(**fields):
        client.force_login(staff("supervisor"))
        start = timezone.localtime(timezone.now() - timedelta(hours=1))
        body = {
            "reason": "Quyết định 12/QĐ-UBND: cúm A/H5N1 ở Quảng Tây",
            "valid_from_0": start.strftime("%Y-%m-%d"),
            "valid_from_1": start.strftime("%H:%M:%S"),
            "valid_until_0": "",
            "valid_until_1": "",
            "fever_threshold_c": "37.5",
            "change_reason": "Province's decision 12/QĐ-UBND",
            **fields,
        }
        response = client.post(reverse("admin:clearance_epidemicmode_add"), body)
        assert response.status_code == 302, response.context["adminform"].form.errors
        client.logout()
        return EpidemicMode.objects.latest("id")

    return switch_on


def declare(api, declaration_body, django_capture_on_commit_callbacks, **overrides):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/declarations/", declaration_body(**overrides), format="json")
    assert response.status_code == 201, response.json()
    return api.get(response["Location"]).json()


def health_check(body: dict) -> dict:
    return next(check for check in body["checks"] if check["kind"] == "health")


def test_outside_an_epidemic_period_the_health_check_is_recorded_as_not_required(
    api, declaration_body, django_capture_on_commit_callbacks
):
    body = declare(api, declaration_body, django_capture_on_commit_callbacks)

    check = health_check(body)
    assert (check["status"], check["outcome"]) == ("done", "not_required")
    assert [reason["code"] for reason in check["reasons"]] == ["health_check_not_required"]
    assert check["attempts"] == 1 and check["finished_at"]  # it ran, as a check: not skipped
    assert body["status"] == "cleared"


def test_a_supervisor_switches_the_epidemic_period_on_and_a_health_officer_cannot(client, staff, epidemic):
    client.force_login(staff("health"))
    assert client.get(reverse("admin:clearance_epidemicmode_changelist")).status_code == 200  # reads it
    assert client.post(reverse("admin:clearance_epidemicmode_add"), {"reason": "x"}).status_code == 403

    mode = epidemic()

    assert mode.set_by.username == "supervisor-officer"
    assert EpidemicMode.at(timezone.now()) == mode
    change = mode.history.get()
    assert (change.history_user.username, change.history_change_reason) == (
        "supervisor-officer",
        "Province's decision 12/QĐ-UBND",
    )
    client.force_login(mode.set_by)
    delete = reverse("admin:clearance_epidemicmode_delete", args=[mode.id])
    assert client.post(delete, {"post": "yes"}).status_code == 403  # ended, never deleted
    assert EpidemicMode.objects.filter(id=mode.id).exists()


def test_in_an_epidemic_period_a_crossing_without_a_health_declaration_is_refused(api, declaration_body, epidemic):
    epidemic()

    response = api.post("/api/v1/declarations/", declaration_body(), format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("health_declaration", "required_in_epidemic_period")
    assert "temperature_c" in error["message"]


@pytest.mark.parametrize(
    ("health_declaration", "field", "code"),
    [
        ({**HEALTHY, "temperature_c": "45.0"}, "health_declaration.temperature_c", "max_value"),
        ({"temperature_c": "36.6", "symptoms": False}, "health_declaration.close_contact", "required"),
        ({**HEALTHY, "symptoms": "maybe"}, "health_declaration.symptoms", "invalid"),
        ({**HEALTHY, "vaccinated": True}, "health_declaration.vaccinated", "unknown_field"),
        (
            {**HEALTHY, "crew": [{**HEALTHY, "full_name": "Lý Văn Cường"}]},
            "health_declaration.crew[0].document_number",
            "required",
        ),
        (
            {**HEALTHY, "crew": [{**HEALTHY, "full_name": "A B", "document_number": "C1"}] * 1},
            "health_declaration.crew[0].document_number",
            "invalid",
        ),
    ],
)
def test_a_health_declaration_is_validated_field_by_field(api, declaration_body, health_declaration, field, code):
    response = api.post("/api/v1/declarations/", declaration_body(health_declaration=health_declaration), format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert {(error["field"], error["code"]) for error in response.json()["errors"]} == {(field, code)}


def test_in_an_epidemic_period_a_driver_on_the_health_forces_list_is_held_for_screening(
    api, client, staff, epidemic, declaration_body, django_capture_on_commit_callbacks
):
    epidemic()
    health_officer = staff("health")
    client.force_login(health_officer)
    added = client.post(
        reverse("admin:clearance_healthflag_add"),
        {
            "full_name": "NGUYEN van an",  # the example driver, written another way
            "document_number": "",
            "action": "testing_required",
            "reason": "Contact of a confirmed case at Pò Chài market",
            "expires_at_0": "",
            "expires_at_1": "",
            "change_reason": "Contact tracing list 30/11",
        },
    )
    assert added.status_code == 302
    assert HealthFlag.objects.get().added_by == health_officer

    body = declare(api, declaration_body, django_capture_on_commit_callbacks, health_declaration=HEALTHY)

    check = health_check(body)
    assert (check["outcome"], body["status"]) == ("flag", "inspection")
    # The health force's list stays with its officers, as the watchlist does.
    assert [reason["code"] for reason in check["reasons"]] == ["under_review"]
    assert "Pò Chài" not in str(body)
    assert [(i["force"], i["kind"], i["status"]) for i in body["inspections"]] == [
        ("health", "health_screening", "open")
    ]
    inspection = Inspection.objects.get(force=Inspection.Force.HEALTH)
    assert [reason["code"] for reason in inspection.reasons] == ["health_testing_required"]

    # Another force cannot record the screening; the health officer can, and the crossing is cleared.
    for user, expected in ((staff("quarantine"), 403), (health_officer, 200)):
        officer = APIClient()
        officer.credentials(HTTP_AUTHORIZATION=f"Token {officer_token_issue(user=user)}")
        with django_capture_on_commit_callbacks(execute=True):
            response = officer.post(
                f"/api/v1/inspections/{inspection.id}/result/",
                {"result": "pass", "notes": "PCR negative"},
                format="json",
            )
        assert response.status_code == expected, response.json()
    assert api.get(f"/api/v1/declarations/{body['id']}/").json()["status"] == "cleared"


def test_an_ended_flag_no_longer_holds_anyone(api, epidemic, declaration_body, django_capture_on_commit_callbacks):
    epidemic()
    HealthFlag.objects.create(
        document_number="C1234567", reason="Tested positive", expires_at=timezone.now() - timedelta(minutes=1)
    )

    body = declare(api, declaration_body, django_capture_on_commit_callbacks, health_declaration=HEALTHY)

    check = health_check(body)
    assert (check["outcome"], [r["code"] for r in check["reasons"]]) == ("pass", ["health_declaration_accepted"])
    assert body["status"] == "cleared"


def test_a_crew_member_on_the_list_is_matched_by_document(
    api, epidemic, declaration_body, django_capture_on_commit_callbacks
):
    epidemic()
    HealthFlag.objects.create(document_number="E7654321", reason="Quarantine order")
    crew = [{**HEALTHY, "full_name": "Hoàng Thị Mai", "document_number": "E7654321"}]

    body = declare(
        api, declaration_body, django_capture_on_commit_callbacks, health_declaration={**HEALTHY, "crew": crew}
    )

    assert (health_check(body)["outcome"], body["status"]) == ("flag", "inspection")
    assert body["health_declaration"]["crew"][0]["document_number"] == "E7654321"


def test_symptoms_or_fever_declared_are_shown_to_the_forwarder_in_plain_words(
    api, epidemic, declaration_body, django_capture_on_commit_callbacks
):
    epidemic(fever_threshold_c="37.5")

    body = declare(
        api,
        declaration_body,
        django_capture_on_commit_callbacks,
        health_declaration={"temperature_c": "38.2", "symptoms": True, "close_contact": False},
    )

    check = health_check(body)
    assert check["outcome"] == "flag"
    codes = {reason["code"]: reason["message"] for reason in check["reasons"]}
    assert set(codes) == {"health_symptoms_declared", "health_fever_declared"}
    assert "38.2" in codes["health_fever_declared"]


def test_a_crossing_declared_before_the_period_began_is_flagged_until_it_sends_its_health_declaration(
    api, epidemic, declaration_body, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        created = api.post("/api/v1/declarations/", declaration_body(), format="json")
    assert created.status_code == 201
    epidemic()
    # The checks run after the province switched the period on.
    with django_capture_on_commit_callbacks(execute=True):
        for check in Check.objects.filter(declaration_id=created.json()["id"]):
            check_run(check_id=check.id)

    body = api.get(created["Location"]).json()
    assert [r["code"] for r in health_check(body)["reasons"]] == ["health_declaration_missing"]
    assert body["status"] == "inspection"

    with django_capture_on_commit_callbacks(execute=True):
        amended = api.patch(
            created["Location"], {"health_declaration": HEALTHY}, format="json", HTTP_IF_MATCH=f'"{body["version"]}"'
        )
    assert amended.status_code == 200, amended.json()
    body = api.get(created["Location"]).json()
    assert (health_check(body)["outcome"], body["status"]) == ("pass", "cleared")


def local_fields(name: str, moment) -> dict:
    moment = timezone.localtime(moment)
    return {f"{name}_0": moment.strftime("%Y-%m-%d"), f"{name}_1": moment.strftime("%H:%M:%S")}


@pytest.mark.parametrize(
    ("period", "outcome"),
    [
        # Switched on now but ended before the truck comes: not its period.
        ({"valid_until": timedelta(hours=24)}, "not_required"),
        # Switched on for a date after today that the truck arrives after: its period.
        ({"valid_from": timedelta(hours=48)}, "pass"),
    ],
)
def test_the_epidemic_period_is_the_one_in_force_when_the_truck_arrives(
    api, epidemic, declaration_body, django_capture_on_commit_callbacks, period, outcome
):
    now = timezone.now()
    epidemic(**{key: value for name, ahead in period.items() for key, value in local_fields(name, now + ahead).items()})

    body = declare(
        api,
        declaration_body,
        django_capture_on_commit_callbacks,
        expected_arrival=arrival_in(72),
        health_declaration=HEALTHY,
        quarantine_certificates=[quarantine_certificate(arrival_hours=72)],
    )

    assert health_check(body)["outcome"] == outcome
    assert body["status"] == "cleared"


def test_an_empty_return_in_an_epidemic_period_is_checked_by_the_health_force(
    reference, epidemic, company, django_capture_on_commit_callbacks
):
    epidemic()
    HealthFlag.objects.create(full_name="Nguyễn Văn An", reason="Testing required")

    declaration = DeclarationFactory(
        kind="empty_return",
        customs_declarations=[],
        goods=[],
        health_declaration=HEALTHY,
        stage="inspection",
    )

    assert list(declaration.inspections.values_list("force", flat=True)) == [Inspection.Force.HEALTH]
