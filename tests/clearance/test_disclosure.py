"""What a forwarder sees of the work done on its declarations (clearance.disclosure): by event kind, by
reason code and by field, never by reading the text."""

import io

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from clearance import disclosure, roles
from clearance.models import DeclarationEvent, HsRiskRule, Inspection
from clearance.services.inspections import inspection_record_result
from tests.factories import LAPTOPS

Kind = DeclarationEvent.Kind
ActorKind = DeclarationEvent.ActorKind

# The kinds whose free text, written by an officer or a worker, may quote a watchlist entry, a risk rule
# or an officer's notes.
INTERNAL_REASON = {
    Kind.REJECTED,
    Kind.INSPECTION_REQUIRED,
    Kind.INSPECTION_PASSED,
    Kind.INSPECTION_FAILED,
    Kind.HELD,
    Kind.ARRIVAL_HOLD_WAIVED,
    Kind.CALL_WITHDRAWN,
}
# Reason codes about the forwarder's own documents and goods.
SHOWN_CODES = {
    "document_expired",
    "document_expires_soon",
    "permit_missing",
    "permit_expired",
    "vehicle_has_active_crossing",
    "certificate_missing",
    "certificate_expired",
    "certificate_revoked",
    "certificate_valid",
    "not_required",
    "clear",
    "check_failed",
    "superseded",
    "weight_mismatch",
    "container_unsealed",
    "overweight",
    "no_goods_to_check",  # an empty return's customs and quarantine checks
    # the health check: the forwarder's own health declaration
    "health_check_not_required",
    "health_declaration_missing",
    "health_symptoms_declared",
    "health_fever_declared",
    "health_close_contact_declared",
    "health_declaration_accepted",
}
# Reason codes of the watchlist, the health force's list and the customs engine.
INTERNAL_CODES = [
    "health_testing_required",
    "driver_watchlisted",
    "vehicle_watchlisted",
    "hs_risk",
    "random_selection",
    "score",
    "company_under_watch",
    "company_priority",
]


def event(kind: str, *, actor_kind: str = ActorKind.USER, reason: str = "Watchlist entry 7", data=None):
    """An event as the lifecycle writes it (not saved: the policy reads only its fields)."""
    return DeclarationEvent(event=kind, actor_kind=actor_kind, actor="cs.nguyen", reason=reason, version=1, data=data)


def reason(code: str) -> dict:
    return {"code": code, "message": f"About {code}."}


# --- Events ---------------------------------------------------------------------------------------


def test_every_event_kind_has_an_entry():
    assert set(disclosure.EVENTS) == set(Kind)


@pytest.mark.parametrize("kind", list(Kind))
def test_an_officers_or_workers_reason_is_shown_by_the_events_kind(kind):
    shown = disclosure.event_reason(event(kind))

    assert shown == ("" if kind in INTERNAL_REASON else "Watchlist entry 7")


@pytest.mark.parametrize("actor_kind", [ActorKind.USER, ActorKind.SYSTEM, ActorKind.DEVICE])
def test_whoever_else_wrote_a_held_event_its_reason_stays_internal(actor_kind):
    assert disclosure.event_reason(event(Kind.HELD, actor_kind=actor_kind)) == ""


@pytest.mark.parametrize("kind", list(Kind))
def test_the_forwarders_own_reason_is_always_shown(kind):
    own = event(kind, actor_kind=ActorKind.API_KEY, reason="Our truck broke down")

    assert disclosure.event_reason(own) == "Our truck broke down"


def test_a_kind_without_an_entry_would_stay_internal():
    assert disclosure.event_reason(event("a_kind_not_yet_in_the_table")) == ""


def test_the_reasons_in_an_events_data_are_filtered_by_code():
    written = event(
        Kind.REJECTED,
        actor_kind=ActorKind.SYSTEM,
        data={"reasons": [reason("driver_watchlisted"), reason("permit_expired")], "check": 3},
    )

    assert disclosure.event_data(written) == {
        "reasons": [reason("permit_expired"), disclosure.UNDER_REVIEW],
        "check": 3,
    }
    assert written.data["reasons"][0]["code"] == "driver_watchlisted"  # the stored event is left alone


def test_the_forwarders_own_data_is_shown_whole():
    own = event(Kind.AMENDED, actor_kind=ActorKind.API_KEY, data={"reasons": [reason("driver_watchlisted")]})

    assert disclosure.event_data(own) == {"reasons": [reason("driver_watchlisted")]}


def test_events_data_without_reasons_is_shown():
    assert disclosure.event_data(event(Kind.WEIGHED, data={"gross_weight_kg": 19500})) == {"gross_weight_kg": 19500}
    assert disclosure.event_data(event(Kind.CLEARED, data=None)) == {}


# --- Reason codes ------------------------------------------------------------------------------------


def test_the_shown_codes_are_those_about_the_forwarders_own_papers_and_goods():
    assert disclosure.FORWARDER_REASON_CODES == SHOWN_CODES


@pytest.mark.parametrize("code", sorted(SHOWN_CODES))
def test_a_reason_about_the_forwarders_papers_is_shown(code):
    assert disclosure.forwarder_reasons([reason(code)]) == [reason(code)]


@pytest.mark.parametrize("code", INTERNAL_CODES)
def test_a_watchlist_or_risk_rule_reason_is_summed_up_as_under_review(code):
    assert disclosure.forwarder_reasons([reason(code)]) == [
        {"code": "under_review", "message": "The authority reviews this crossing further."}
    ]


def test_under_review_is_added_once_after_the_shown_reasons():
    reasons = [reason("hs_risk"), reason("permit_expired"), reason("score"), {"message": "no code"}]

    assert disclosure.forwarder_reasons(reasons) == [reason("permit_expired"), disclosure.UNDER_REVIEW]
    assert disclosure.forwarder_reasons([]) == []


# --- Fields of checks, inspections and events -------------------------------------------------------------


@pytest.fixture
def under_review(declare, django_capture_on_commit_callbacks):
    """Laptops under a customs risk rule: yellow channel, a document review by customs."""
    HsRiskRule.objects.create(hs_prefix="8471", weight=35, description="Laptops under-declared")
    with django_capture_on_commit_callbacks(execute=True):
        response = declare(goods=LAPTOPS, quarantine_certificates=[])
    assert response.status_code == 201, response.json()
    inspection = Inspection.objects.get(declaration_id=response.json()["id"])
    return response.json()["id"], inspection


@pytest.fixture
def customs_officer(db):
    call_command("setup_roles", stdout=io.StringIO())
    user = User.objects.create_user(username="cs.nguyen", password="not-used")
    user.groups.set(Group.objects.filter(name=roles.CUSTOMS_OFFICER))
    return user


def test_a_forwarder_reads_these_fields_of_checks_and_inspections(api, under_review):
    declaration_id, _inspection = under_review

    body = api.get(f"/api/v1/declarations/{declaration_id}/").json()

    assert {tuple(check) for check in body["checks"]} == {
        ("kind", "version", "status", "outcome", "reasons", "attempts", "started_at", "finished_at")
    }
    [inspection] = body["inspections"]
    assert tuple(inspection) == ("id", "force", "kind", "status", "reasons", "created_at", "resolved_at")
    assert [r["code"] for r in inspection["reasons"]] == ["under_review"]


def test_a_forwarder_reads_these_fields_of_events(api, under_review):
    declaration_id, _inspection = under_review

    events = api.get(f"/api/v1/declarations/{declaration_id}/events/").json()["results"]

    assert {tuple(e) for e in events} == {("id", "at", "actor_kind", "actor", "event", "reason", "version", "data")}


# --- Through the API ------------------------------------------------------------------------------


def test_an_officers_held_reason_is_hidden_from_the_forwarders_events(api, under_review, customs_officer):
    declaration_id, inspection = under_review
    inspection_record_result(
        inspection_id=inspection.id, user=customs_officer, passed=False, notes="Matches watchlist entry 7."
    )

    response = api.get(f"/api/v1/declarations/{declaration_id}/events/")

    assert response.status_code == 200
    trail = {e["event"]: e for e in response.json()["results"]}
    assert (trail["held"]["actor"], trail["held"]["reason"]) == ("cs.nguyen", "")
    assert trail["inspection_failed"]["reason"] == ""
    assert trail["inspection_required"]["reason"] == ""
    assert "entry 7" not in response.content.decode()
    # The officers keep it.
    held = DeclarationEvent.objects.get(declaration_id=declaration_id, event=Kind.HELD)
    assert held.reason == "Matches watchlist entry 7."


def test_the_forwarders_own_cancel_reason_is_shown_in_its_events(api, declare):
    declaration_id = declare().json()["id"]
    cancelled = api.post(
        f"/api/v1/declarations/{declaration_id}/cancel/", {"reason": "The buyer withdrew the order."}, format="json"
    )
    assert cancelled.status_code == 200, cancelled.json()

    events = api.get(f"/api/v1/declarations/{declaration_id}/events/").json()["results"]

    [cancel] = [e for e in events if e["event"] == "cancelled"]
    assert (cancel["actor_kind"], cancel["reason"]) == ("api_key", "The buyer withdrew the order.")
