"""The decision on a declaration once its three checks have answered, as the forwarder and officers see it.

Declarations go through the API with the after-commit tasks executed, so the checks run in-process
and the declaration is decided, as it is with a worker.
"""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from clearance.models import (
    Check,
    Declaration,
    DeclarationEvent,
    HsRiskRule,
    Inspection,
    RevokedCertificate,
    WatchlistEntry,
)
from clearance.services.checks import check_fail, check_run, checks_reconcile
from tests.factories import arrival_in, container

SECOND_TRUCK = {
    "containers": [container(2)],  # a container is on one active crossing at a time
    "vehicle": {
        "plate": "12C-555.55",
        "country": "VN",
        "max_gross_weight_kg": 40000,
        "permit_number": "VN-CN-2026-00555",
        "permit_expires": "2027-06-30",
    },
    "trailer": None,
    "customs_declarations": [{"number": "305123456790", "type": "B11"}],
}


@pytest.fixture
def certificate():
    """A quarantine certificate valid on tomorrow's crossing, whatever today is."""
    day = timezone.localdate(timezone.now() + timedelta(hours=24))
    return {
        "number": "KD-2026-001234",
        "issued_on": str(day - timedelta(days=3)),
        "expires_on": str(day + timedelta(days=27)),
    }


@pytest.fixture
def submit(declare, certificate):
    """Declare without running the checks: the declaration stays checking with three pending checks."""

    def post(**overrides):
        response = declare(**{"quarantine_certificates": [certificate], **overrides})
        assert response.status_code == 201, response.json()
        return response

    return post


@pytest.fixture
def decided(submit, django_capture_on_commit_callbacks):
    """Declare and let the checks run after commit, as the workers do; returns the API response."""

    def post(**overrides):
        with django_capture_on_commit_callbacks(execute=True):
            response = submit(**overrides)
        return response

    return post


def read(api, response) -> dict:
    return api.get(response["Location"]).json()


def events(api, declaration_id: int) -> list[dict]:
    body = api.get(f"/api/v1/declarations/{declaration_id}/events/").json()
    return body["results"]


def inspections(body: dict) -> list[tuple[str, str]]:
    return sorted((inspection["force"], inspection["kind"]) for inspection in body["inspections"])


def check_ids(declaration_id: int, version: int = 1) -> dict[str, int]:
    return dict(Check.objects.filter(declaration_id=declaration_id, version=version).values_list("kind", "id"))


# --- Outcomes -----------------------------------------------------------------------------------


def test_all_pass_on_green_is_cleared(api, decided):
    body = read(api, decided())

    assert (body["status"], body["channel"]) == ("cleared", "green")
    assert body["inspections"] == []
    assert Inspection.objects.count() == 0
    assert sorted((c["kind"], c["status"], c["outcome"]) for c in body["checks"]) == [
        ("border_guard", "done", "pass"),
        ("customs", "done", "green"),
        ("health", "done", "not_required"),  # no epidemic period: recorded, not skipped
        ("quarantine", "done", "pass"),
    ]


def test_yellow_channel_needs_a_customs_document_review(api, decided):
    HsRiskRule.objects.create(hs_prefix="0810", weight=35, description="Durian declared as other fruit")

    body = read(api, decided())

    assert (body["status"], body["channel"]) == ("inspection", "yellow")
    assert inspections(body) == [("customs", "document_review")]
    assert body["inspections"][0]["status"] == "open"
    # Officers read the rule that fired; the forwarder is told only that the authority reviews further.
    assert "hs_risk" in [r["code"] for r in Inspection.objects.get(declaration_id=body["id"]).reasons]
    assert [reason["code"] for reason in body["inspections"][0]["reasons"]] == ["under_review"]


def test_red_channel_needs_a_physical_inspection(api, decided):
    HsRiskRule.objects.create(hs_prefix="0810", weight=60, description="Durian declared as other fruit")

    body = read(api, decided())

    assert (body["status"], body["channel"]) == ("inspection", "red")
    assert inspections(body) == [("customs", "physical")]


def test_border_guard_flag_needs_a_manual_check(api, decided):
    WatchlistEntry.objects.create(kind="person", full_name="NGUYEN VAN AN", action="flag", reason="Look closer")

    body = read(api, decided())

    assert (body["status"], body["channel"]) == ("inspection", "green")
    assert inspections(body) == [("border_guard", "manual_check")]
    assert [r["code"] for r in Inspection.objects.get(declaration_id=body["id"]).reasons] == ["driver_watchlisted"]
    # A watchlist match is never shown to the forwarder.
    assert [reason["code"] for reason in body["inspections"][0]["reasons"]] == ["under_review"]
    assert "watchlist" not in str(body).lower()


def test_missing_certificate_needs_a_quarantine_inspection(api, decided):
    body = read(api, decided(quarantine_certificates=[]))

    assert body["status"] == "inspection"
    assert inspections(body) == [("quarantine", "quarantine")]
    assert [reason["code"] for reason in body["inspections"][0]["reasons"]] == ["certificate_missing"]


def test_each_force_that_must_act_gets_one_inspection(api, decided):
    HsRiskRule.objects.create(hs_prefix="0810", weight=60, description="Durian")
    WatchlistEntry.objects.create(kind="vehicle", plate="12c 123.45", action="flag", reason="Look closer")

    body = read(api, decided(quarantine_certificates=[]))

    assert body["status"] == "inspection"
    assert inspections(body) == [
        ("border_guard", "manual_check"),
        ("customs", "physical"),
        ("quarantine", "quarantine"),
    ]


def test_any_deny_rejects_with_the_deny_reasons(api, decided):
    entry = WatchlistEntry.objects.create(
        kind="person", document_number="C1234567", action="deny", reason="Passport reported stolen"
    )
    RevokedCertificate.objects.create(number="KD-2026-001234", reason="Forged lab results")
    HsRiskRule.objects.create(hs_prefix="0810", weight=35, description="Durian")

    response = decided()
    body = read(api, response)

    assert body["status"] == "rejected"
    assert body["inspections"] == []  # nobody inspects a crossing that is refused
    rejected = DeclarationEvent.objects.get(declaration_id=body["id"], event="rejected")
    assert f"matches watchlist entry {entry.pk}: Passport reported stolen" in rejected.reason
    assert "Certificate KD-2026-001234 has been revoked." in rejected.reason
    assert "hs_risk" not in rejected.reason and "Durian" not in rejected.reason
    assert rejected.actor_kind == "system"


# --- What the forwarder reads -------------------------------------------------------------------


def test_declaration_shows_its_checks_with_outcomes_reasons_and_channel(api, decided):
    HsRiskRule.objects.create(hs_prefix="0810", weight=35, description="Durian")

    body = read(api, decided())

    assert body["channel"] == "yellow"
    checks = {check["kind"]: check for check in body["checks"]}
    assert set(checks) == {"customs", "border_guard", "quarantine", "health"}
    assert (checks["customs"]["status"], checks["customs"]["outcome"]) == ("done", "yellow")
    assert [r["code"] for r in checks["customs"]["reasons"]] == ["under_review"]  # the engine's rules stay internal
    assert all(r["message"] for r in checks["customs"]["reasons"])
    assert [r["code"] for r in checks["border_guard"]["reasons"]] == ["clear"]
    assert [r["code"] for r in checks["quarantine"]["reasons"]] == ["certificate_valid"]
    assert [r["code"] for r in checks["health"]["reasons"]] == ["health_check_not_required"]
    assert all(check["version"] == 1 and check["attempts"] == 1 and check["finished_at"] for check in checks.values())


def test_events_tell_the_story_of_the_checks(api, decided):
    response = decided()

    trail = events(api, response.json()["id"])

    assert [event["event"] for event in trail] == [
        "submitted",
        "checks_started",
        "check_started",
        "check_finished",
        "check_started",
        "check_finished",
        "check_started",
        "check_finished",
        "check_started",
        "check_finished",
        "cleared",
    ]
    finished = [event for event in trail if event["event"] == "check_finished"]
    assert sorted(event["data"]["check"] for event in finished) == ["border_guard", "customs", "health", "quarantine"]
    assert all(event["data"]["ignored"] is False for event in finished)
    assert trail[-1]["reason"]
    assert trail[-1]["actor_kind"] == "system"


# --- Amending while the checks run --------------------------------------------------------------


def test_results_for_an_amended_version_are_kept_but_ignored(api, submit, django_capture_on_commit_callbacks):
    created = submit()
    declaration_id = created.json()["id"]
    old_checks = check_ids(declaration_id, version=1)

    with django_capture_on_commit_callbacks(execute=True):
        amended = api.patch(
            created["Location"], {"expected_arrival": arrival_in(30)}, format="json", HTTP_IF_MATCH=created["ETag"]
        )
    assert amended.status_code == 200, amended.json()
    assert (read(api, created)["status"], read(api, created)["version"]) == ("cleared", 2)

    # Late answers for version 1 arrive, and would be bad news were they current.
    HsRiskRule.objects.create(hs_prefix="0810", weight=60, description="Durian")
    WatchlistEntry.objects.create(kind="person", document_number="C1234567", action="deny", reason="Entry ban")
    for check_id in old_checks.values():
        assert check_run(check_id=check_id) is not None

    stale = list(Check.objects.filter(declaration_id=declaration_id, version=1))
    assert len(stale) == 4
    assert all(check.status == "done" and check.outcome and check.reasons for check in stale)  # recorded
    body = read(api, created)
    assert (body["status"], body["channel"], body["version"]) == ("cleared", "green", 2)
    assert body["inspections"] == [] and Inspection.objects.count() == 0
    assert all(check["version"] == 2 for check in body["checks"])
    late = [
        event for event in events(api, declaration_id) if event["event"] == "check_finished" and event["version"] == 1
    ]
    assert len(late) == 4
    assert all(event["data"]["ignored"] is True for event in late)
    assert not DeclarationEvent.objects.filter(
        declaration_id=declaration_id, event__in=["rejected", "inspection_required"]
    )


# --- Delivered twice, failed, lost ----------------------------------------------------------------


def test_running_a_check_twice_records_one_outcome(submit):
    declaration_id = submit().json()["id"]
    customs_id = check_ids(declaration_id)["customs"]

    first = check_run(check_id=customs_id)
    second = check_run(check_id=customs_id)

    assert first is not None and second is None
    check = Check.objects.get(id=customs_id)
    assert (check.status, check.outcome, check.attempts) == ("done", "green", 1)
    finished = DeclarationEvent.objects.filter(declaration_id=declaration_id, event="check_finished")
    assert finished.count() == 1


@pytest.mark.parametrize(
    ("kind", "inspection_kind"),
    [("customs", "document_review"), ("border_guard", "manual_check"), ("quarantine", "quarantine")],
)
def test_failed_check_sends_the_force_to_inspect_by_hand(api, submit, kind, inspection_kind):
    created = submit()
    declaration_id = created.json()["id"]
    ids = check_ids(declaration_id)

    for other_kind, check_id in ids.items():
        if other_kind != kind:
            check_run(check_id=check_id)
    check_fail(check_id=ids[kind], error="System unavailable after 8 retries")

    body = read(api, created)
    assert body["status"] == "inspection"
    assert inspections(body) == [(kind, inspection_kind)]
    assert body["inspections"][0]["reasons"] == [
        {"code": "check_failed", "message": "System unavailable after 8 retries"}
    ]
    assert Check.objects.get(id=ids[kind]).status == "failed"
    assert DeclarationEvent.objects.filter(declaration_id=declaration_id, event="check_failed").count() == 1


def test_failing_a_finished_check_changes_nothing(submit, django_capture_on_commit_callbacks):
    declaration_id = submit().json()["id"]
    ids = check_ids(declaration_id)
    for check_id in ids.values():
        check_run(check_id=check_id)

    check_fail(check_id=ids["customs"], error="Too late")

    assert Check.objects.get(id=ids["customs"]).outcome == "green"
    assert Declaration.objects.get(id=declaration_id).status == "cleared"
    assert not DeclarationEvent.objects.filter(declaration_id=declaration_id, event="check_failed").exists()


def test_reconcile_resends_stale_pending_checks_and_leaves_fresh_ones(submit):
    stale_id = submit().json()["id"]
    fresh_id = submit(**SECOND_TRUCK).json()["id"]
    long_ago = timezone.now() - timedelta(seconds=django_settings.SMARTGATE_CHECK_STALE_SECONDS + 5)
    Check.objects.filter(declaration_id=stale_id).update(enqueued_at=long_ago)
    fresh_enqueued = sorted(Check.objects.filter(declaration_id=fresh_id).values_list("enqueued_at", flat=True))

    count = checks_reconcile()

    assert count == 4
    assert Declaration.objects.get(id=stale_id).status == "cleared"
    assert set(Check.objects.filter(declaration_id=stale_id).values_list("status", flat=True)) == {"done"}
    fresh = Check.objects.filter(declaration_id=fresh_id)
    assert set(fresh.values_list("status", flat=True)) == {"pending"}
    assert sorted(fresh.values_list("enqueued_at", flat=True)) == fresh_enqueued
    assert Declaration.objects.get(id=fresh_id).status == "checking"
    assert checks_reconcile() == 0


def test_reconcile_after_the_stale_time_resends_everything_pending(submit, time_machine):
    first = submit().json()["id"]
    second = submit(**SECOND_TRUCK).json()["id"]

    time_machine.move_to(timezone.now() + timedelta(seconds=django_settings.SMARTGATE_CHECK_STALE_SECONDS + 1))
    count = checks_reconcile()

    assert count == 8
    assert list(Declaration.objects.filter(id__in=[first, second]).values_list("status", flat=True)) == [
        "cleared",
        "cleared",
    ]


def test_reconcile_retakes_a_check_left_running_by_a_dead_worker(submit):
    declaration_id = submit().json()["id"]
    ids = check_ids(declaration_id)
    check_run(check_id=ids["border_guard"])
    check_run(check_id=ids["quarantine"])
    check_run(check_id=ids["health"])
    long_ago = timezone.now() - timedelta(seconds=django_settings.SMARTGATE_CHECK_STALE_SECONDS + 5)
    # A worker claimed the customs check and died.
    Check.objects.filter(id=ids["customs"]).update(
        status="running", claim_token="dead-worker", started_at=long_ago, attempts=1
    )

    count = checks_reconcile()

    assert count == 1
    check = Check.objects.get(id=ids["customs"])
    assert (check.status, check.outcome, check.attempts) == ("done", "green", 2)
    assert Declaration.objects.get(id=declaration_id).status == "cleared"


def test_the_forwarder_never_reads_why_the_border_guard_or_customs_flagged_it(
    api, declare, django_capture_on_commit_callbacks
):
    from clearance.models import WatchlistEntry

    WatchlistEntry.objects.create(
        kind="person", full_name="Nguyễn Văn An", action="deny", reason="Intel tip 42: suspected smuggling"
    )
    with django_capture_on_commit_callbacks(execute=True):
        created = declare().json()

    body = api.get(f"/api/v1/declarations/{created['id']}/").json()
    trail = api.get(f"/api/v1/declarations/{created['id']}/events/").json()["results"]

    assert body["status"] == "rejected"
    assert "Intel tip" not in str(body) and "Intel tip" not in str(trail)
    assert "watchlist" not in (str(body) + str(trail)).lower()
