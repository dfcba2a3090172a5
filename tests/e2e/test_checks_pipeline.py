"""Declarations decided by a real Celery worker on Redis and PostgreSQL, and the faults it survives."""

import os
import signal
import time

import pytest
from django.db import connection

from clearance.models import Check, Declaration, DeclarationEvent, HsRiskRule, Inspection, WatchlistEntry
from clearance.services.checks import checks_reconcile
from clearance.tasks import check_run_task
from tests.e2e.conftest import point_celery_at, wait_until
from tests.factories import TruckBody

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

FINAL = {"cleared", "inspection", "rejected"}


def decided(declaration_id: int, timeout: float = 45) -> Declaration:
    return wait_until(
        lambda: Declaration.objects.filter(id=declaration_id, status__in=FINAL).first(),
        timeout=timeout,
        what=f"declaration {declaration_id} to be decided",
    )


def test_submit_is_cleared_by_real_workers(worker, api, declare):
    worker()

    created = declare().json()

    declaration = decided(created["id"])
    assert declaration.status == "cleared"
    assert declaration.channel == "green"
    body = api.get(f"/api/v1/declarations/{created['id']}/").json()
    assert {c["kind"]: c["outcome"] for c in body["checks"]} == {
        "customs": "green",
        "border_guard": "pass",
        "quarantine": "pass",
        "health": "not_required",
    }
    assert body["channel"] == "green"
    events = [e["event"] for e in api.get(f"/api/v1/declarations/{created['id']}/events/").json()["results"]]
    assert events.count("check_started") == 4 and events.count("check_finished") == 4
    assert events[-1] == "cleared"


@pytest.mark.parametrize(
    ("setup", "forces"),
    [
        (
            lambda: HsRiskRule.objects.create(hs_prefix="0810", weight=35, description="fruit fraud"),
            {"customs": "document_review"},
        ),
        (
            lambda: HsRiskRule.objects.create(hs_prefix="08", weight=80, description="smuggling route"),
            {"customs": "physical"},
        ),
        (
            lambda: WatchlistEntry.objects.create(kind="vehicle", plate="12C 123.45", action="flag", reason="tip-off"),
            {"border_guard": "manual_check"},
        ),
        ("no_certificate", {"quarantine": "quarantine"}),
    ],
    ids=["yellow", "red", "border-flag", "missing-certificate"],
)
def test_submit_goes_to_inspection_by_the_forces_concerned(worker, declare, setup, forces):
    worker()
    overrides = {}
    if setup == "no_certificate":
        overrides["quarantine_certificates"] = []
    else:
        setup()

    created = declare(**overrides).json()

    assert decided(created["id"]).status == "inspection"
    assert dict(Inspection.objects.filter(declaration_id=created["id"]).values_list("force", "kind")) == forces


def test_submit_is_rejected_when_a_force_denies(worker, declare):
    WatchlistEntry.objects.create(kind="person", full_name="NGUYEN VAN AN", action="deny", reason="wanted")
    worker()

    created = declare().json()

    assert decided(created["id"]).status == "rejected"
    rejection = DeclarationEvent.objects.get(declaration_id=created["id"], event="rejected")
    assert "wanted" in rejection.reason


def test_amend_during_checking_old_results_are_ignored(worker, api, declare):
    WatchlistEntry.objects.create(kind="person", full_name="Nguyễn Văn An", action="deny", reason="wanted")
    created = declare()  # no worker yet: version 1's checks wait in Redis
    new_driver = {
        "full_name": "Trần Thị Bình",
        "nationality": "VN",
        "document_type": "passport",
        "document_number": "C7654321",
        "document_expires": "2030-01-01",
    }
    api.patch(created["Location"], {"driver": new_driver}, format="json", HTTP_IF_MATCH=created["ETag"])

    worker()

    declaration_id = created.json()["id"]
    wait_until(
        lambda: Check.objects.filter(declaration_id=declaration_id, status="done").count() == 8,
        what="both versions' checks",
    )
    declaration = decided(declaration_id)
    assert (declaration.status, declaration.version) == ("cleared", 2)
    old = DeclarationEvent.objects.filter(declaration_id=declaration_id, event="check_finished", version=1)
    assert old.count() == 4 and all(event.data["ignored"] for event in old)
    # Version 1's checks had not run when the amendment came: they record that, not a verdict on new data.
    assert set(Check.objects.filter(declaration_id=declaration_id, version=1).values_list("outcome", flat=True)) == {
        "superseded"
    }


def test_same_task_delivered_twice_records_one_outcome(worker, declare):
    created = declare().json()  # no worker: the first deliveries wait
    customs = Check.objects.get(declaration_id=created["id"], kind="customs")
    check_run_task.apply_async(args=[customs.id], queue="customs")  # a duplicate delivery

    worker()

    decided(created["id"])
    wait_until(
        lambda: not Check.objects.filter(declaration_id=created["id"], status__in=["pending", "running"]),
        what="all checks finished",
    )
    customs.refresh_from_db()
    assert customs.attempts == 1
    assert (
        DeclarationEvent.objects.filter(
            declaration_id=created["id"], event="check_finished", data__check="customs"
        ).count()
        == 1
    )


def test_worker_killed_mid_check_the_check_completes_once(worker, declare, settings):
    fault_env = {
        "SMARTGATE_CUSTOMS_GATEWAY": "tests.e2e.gateways.SlowCustomsGateway",
        "SLOW_GATEWAY_SECONDS": "4",
        "CELERY_TASK_SOFT_TIME_LIMIT": "6",
        "CELERY_TASK_TIME_LIMIT": "8",
        "SMARTGATE_CHECK_STALE_SECONDS": "10",
    }
    settings.SMARTGATE_CHECK_STALE_SECONDS = 10
    doomed = worker(**fault_env)
    created = declare().json()
    customs = wait_until(
        lambda: Check.objects.filter(declaration_id=created["id"], kind="customs", status="running").first(),
        what="customs check running",
    )

    os.killpg(doomed.process.pid, signal.SIGKILL)  # the whole worker, mid-check: nothing acknowledges
    doomed.process.wait()
    assert Check.objects.get(id=customs.id).status == "running"

    worker()  # a fresh worker; the message is not redelivered before Redis' visibility timeout
    wait_until(lambda: checks_reconcile() > 0, timeout=30, interval=1, what="reconciliation to resend the check")

    declaration = decided(created["id"])
    customs.refresh_from_db()
    assert (customs.status, customs.outcome) == ("done", "green")
    assert customs.attempts == 2
    assert declaration.status == "cleared"
    assert (
        DeclarationEvent.objects.filter(
            declaration_id=created["id"], event="check_finished", data__check="customs"
        ).count()
        == 1
    )


def test_broker_down_at_commit_reconciliation_sends_the_checks_later(worker, broker, declare):
    point_celery_at("redis://127.0.0.1:1/0")  # nothing listens there
    created = declare()
    point_celery_at(broker)

    assert created.status_code == 201
    assert Check.objects.filter(declaration_id=created.json()["id"], status="pending").count() == 4
    worker()
    Check.objects.update(enqueued_at="2000-01-01T00:00:00Z")  # as if the stale threshold had passed
    assert checks_reconcile() == 4

    assert decided(created.json()["id"]).status == "cleared"


def test_checks_of_one_declaration_finishing_at_once_still_decide_it(worker, api):
    # Declared before the worker starts: its two processes then take checks of one declaration side by
    # side, and the last two often finish together; each must see the other's outcome.
    ids = []
    for n in range(15):
        response = api.post("/api/v1/declarations/", TruckBody(n=n), format="json")
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])

    worker()

    wait_until(
        lambda: Declaration.objects.filter(id__in=ids, status__in=FINAL).count() == len(ids),
        timeout=60,
        what="every declaration decided",
    )


def _sessions_opened() -> int:
    """Connections ever opened to this database (PostgreSQL's statistics, read after the backends have
    reported: a closed connection reports at its exit, a live one within a second)."""
    time.sleep(1.5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_a_worker_keeps_its_database_connections_from_task_to_task(worker, api):
    # Celery's Django fixup used to close the connections and Django's pool around every task: each of a
    # declaration's four checks (and the dispatches they ask for) opened two new connections.
    worker()
    for n in range(4):  # both processes of the worker take tasks and open their pools
        response = api.post("/api/v1/declarations/", TruckBody(n=n), format="json")
        assert decided(response.json()["id"]).status == "cleared"
    before = _sessions_opened()

    ids = [api.post("/api/v1/declarations/", TruckBody(n=n), format="json").json()["id"] for n in range(4, 14)]
    wait_until(
        lambda: Declaration.objects.filter(id__in=ids, status__in=FINAL).count() == len(ids),
        timeout=60,
        what="every declaration decided",
    )

    opened = _sessions_opened() - before
    assert opened < 10, f"{opened} connections opened for 10 declarations' 40 checks"


def test_a_worker_whose_connections_were_cut_decides_the_next_declaration(worker, api):
    # Its connections now live from task to task in the process's pool: after PostgreSQL drops them (a
    # restart), the pool's check before use replaces them and no task fails for it.
    worker()
    first = api.post("/api/v1/declarations/", TruckBody(n=1), format="json").json()
    assert decided(first["id"]).status == "cleared"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1  # the worker's

    second = api.post("/api/v1/declarations/", TruckBody(n=2), format="json").json()

    assert decided(second["id"], timeout=30).status == "cleared"
    assert not Check.objects.filter(declaration_id=second["id"], attempts__gt=1).exists()  # none failed first
