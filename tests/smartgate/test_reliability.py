"""Stays up: the API degrades instead of failing when Redis, the broker or PostgreSQL is lost.

The faults are real: a cache and a broker at an address where nothing listens (as when Redis is
stopped), PostgreSQL backends terminated with pg_terminate_backend. Nothing is mocked.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import psycopg
import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from clearance.models import Check, CompanyEvent, Declaration, IdempotencyRecord, WorkerHeartbeat
from clearance.services.checks import checks_reconcile
from clearance.services.operations import idempotency_records_purge, worker_heartbeat_record
from smartgate import cache as fail_soft
from tests.e2e.conftest import point_celery_at
from tests.factories import TruckBody, client_for

# Nothing listens here: connecting is refused at once, as with a stopped Redis.
NOWHERE = "redis://127.0.0.1:6399/0"

UNREACHABLE_CACHE = {
    "default": {
        "BACKEND": "smartgate.cache.FailSoftRedisCache",
        "LOCATION": NOWHERE,
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }
}


@pytest.fixture
def cache_down():
    with override_settings(CACHES=UNREACHABLE_CACHE):
        yield


@pytest.fixture
def broker_down():
    point_celery_at(NOWHERE)
    yield
    point_celery_at(None)


def test_with_the_cache_down_reads_and_declarations_go_on_and_throttling_fails_open(cache_down, api, declare, caplog):
    failures_before = fail_soft.failures.count

    created = declare()
    listed = api.get("/api/v1/declarations/")
    load = api.get("/api/v1/gates/load/")

    assert (created.status_code, listed.status_code, load.status_code) == (201, 200, 200)
    assert listed.json()["results"][0]["id"] == created.json()["id"]
    assert fail_soft.failures.count > failures_before  # each failed cache call counted


def test_with_the_broker_down_a_declaration_is_created_and_its_checks_wait_for_the_outbox(
    broker_down, declare, django_capture_on_commit_callbacks, caplog
):
    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        created = declare()

    assert created.status_code == 201
    declaration = Declaration.objects.get(id=created.json()["id"])
    assert set(Check.objects.filter(declaration=declaration).values_list("status", flat=True)) == {Check.Status.PENDING}
    # One send (the first check's) found the broker down; the other checks' sends did not wait on it again.
    # The company subscribes to no webhook: its events have nothing to fan out, so none was sent.
    assert caplog.messages.count("task.enqueue_failed") == 1
    assert caplog.messages.count("task.enqueue_skipped") == 3
    assert not CompanyEvent.objects.filter(declaration_id=declaration.id, fanned_out_at__isnull=True).exists()

    # The broker is back (tasks in-process here): reconciliation sends what was not sent and it is decided.
    point_celery_at(None)
    with time_machine.travel(timezone.now() + timedelta(minutes=5)), django_capture_on_commit_callbacks(execute=True):
        checks_reconcile()
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.CLEARED


def terminate_other_backends() -> int:
    """What a PostgreSQL restart does to the connections this process holds."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], dbname=settings["NAME"], autocommit=True
    ) as admin:
        return admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_lost_database_is_a_503_problem_with_retry_after_and_the_next_request_is_served(
    company, reference, declaration_body
):
    if connection.vendor != "postgresql":
        pytest.skip("backends are terminated on PostgreSQL")
    # A fresh pool: connections other tests' threads still hold would leave it short (a 503 too, but
    # not the fault under test).
    connection.close()
    if hasattr(connection, "close_pool"):
        connection.close_pool()
    api = client_for(company)
    assert api.get("/api/v1/declarations/").status_code == 200
    assert terminate_other_backends() >= 1

    lost = api.get("/api/v1/declarations/")

    assert lost.status_code == 503
    assert lost["Content-Type"] == "application/problem+json"
    assert lost["Retry-After"] == "5"
    assert lost.json()["code"] == "database_unavailable"
    again = api.post("/api/v1/declarations/", declaration_body(), format="json")
    assert again.status_code == 201


def test_liveness_touches_no_dependency(client, cache_down):
    response = client.get("/healthz/live")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readiness_names_each_dependency(client, db):
    body = client.get("/healthz/ready").json()

    assert body["status"] == "ok"
    assert {name: state["status"] for name, state in body["checks"].items()} == {
        "database": "ok",
        "migrations": "ok",
        "cache": "ok",
        "broker": "not_used",  # tests run tasks in-process, as the embedded default does
        "workers": "not_used",
    }


def test_readiness_is_degraded_not_down_when_the_cache_is_lost(client, db, cache_down):
    response = client.get("/healthz/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"] == {
        "status": "unavailable",
        "essential": False,
        "seconds": body["checks"]["cache"]["seconds"],
        "detail": "Redis cache unreachable",
    }


@pytest.mark.django_db(transaction=True)  # the checks read from their own threads' connections
def test_readiness_reports_the_broker_and_a_workers_heartbeat(client, settings, redis_url):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    point_celery_at(redis_url)
    try:
        no_worker = client.get("/healthz/ready").json()["checks"]
        worker_heartbeat_record(worker="celery@gate-1")
        seen = client.get("/healthz/ready").json()["checks"]
        WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(minutes=5))
        silent = client.get("/healthz/ready").json()["checks"]
        point_celery_at(NOWHERE)
        broker_lost = client.get("/healthz/ready").json()["checks"]
    finally:
        point_celery_at(None)

    assert (no_worker["broker"]["status"], no_worker["workers"]["detail"]) == ("ok", "No worker has been seen")
    assert seen["workers"]["status"] == "ok"
    assert silent["workers"]["detail"].startswith("No worker seen for 3")
    assert (broker_lost["broker"]["status"], broker_lost["broker"]["detail"]) == ("unavailable", "Broker unreachable")


def test_idempotency_records_past_retention_are_purged(api):
    for n, key in ((1, "old"), (2, "fresh")):
        response = api.post("/api/v1/declarations/", TruckBody(n=n), format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 201
        IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))

    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
