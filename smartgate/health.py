"""Liveness and readiness, for load balancers, docker compose and the operator at 3 a.m.

- ``/healthz/live``: the process answers; no dependency is touched (restart it if this fails).
- ``/healthz/ready``: each dependency checked with django-health-check and named in JSON: the database
  and its migrations (without them nothing works: 503), the cache, the broker and a worker heartbeat
  (without them the API still answers, degraded: 200 with ``"status": "degraded"``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from django.conf import settings
from django.core.cache import caches
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Max
from django.http import JsonResponse
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.exceptions import ServiceUnavailable

from smartgate.cache import FailSoftRedisCache


@dataclasses.dataclass
class Migrations(HealthCheck):
    """Every migration in the code is applied to the database."""

    timeout = timedelta(seconds=3)

    def run(self):
        try:
            executor = MigrationExecutor(connections["default"])
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except Exception as error:
            raise ServiceUnavailable("Cannot read the applied migrations") from error
        finally:
            connection.close()  # this runs in a worker thread: give its connection back
        if pending:
            raise ServiceUnavailable(f"{len(pending)} migrations not applied")


@dataclasses.dataclass
class CacheReachable(HealthCheck):
    """Redis answers a PING (the cache fails soft, so a set-then-get would not tell)."""

    timeout = timedelta(seconds=1)

    def run(self):
        cache = caches["default"]
        if not isinstance(cache, FailSoftRedisCache):
            return  # in-process memory: always there
        try:
            cache._cache.get_client(write=True).ping()
        except Exception as error:
            raise ServiceUnavailable("Redis cache unreachable") from error


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection."""

    timeout = timedelta(seconds=2)

    def run(self):
        from celery import current_app

        try:
            with current_app.connection_for_write() as broker:
                broker.ensure_connection(max_retries=1, timeout=1)
        except Exception as error:
            raise ServiceUnavailable("Broker unreachable") from error


@dataclasses.dataclass
class WorkerHeartbeat(HealthCheck):
    """A Celery worker ran the heartbeat task recently (clearance.tasks.worker_heartbeat_task)."""

    timeout = timedelta(seconds=3)

    def run(self):
        from clearance.models import WorkerHeartbeat as Heartbeat

        try:
            last = Heartbeat.objects.aggregate(last=Max("seen_at"))["last"]
        except Exception as error:
            raise ServiceUnavailable("Cannot read the workers' heartbeats") from error
        finally:
            connection.close()
        allowed = timedelta(seconds=3 * settings.SMARTGATE_WORKER_HEARTBEAT_SECONDS)
        if last is None:
            raise ServiceUnavailable("No worker has been seen")
        age = timezone.now() - last
        if age > allowed:
            raise ServiceUnavailable(f"No worker seen for {int(age.total_seconds())} s")


def _checks() -> dict[str, tuple[HealthCheck | None, bool]]:
    """name → (check, essential); None where the dependency is not used (the embedded default)."""
    eager = settings.CELERY_TASK_ALWAYS_EAGER
    return {
        "database": (Database(), True),
        "migrations": (Migrations(), True),
        "cache": (CacheReachable(), False),
        "broker": (None if eager else Broker(), False),
        "workers": (None if eager else WorkerHeartbeat(), False),
    }


async def readiness(request):
    checks = _checks()
    running = {name: check for name, (check, _essential) in checks.items() if check is not None}
    results = dict(zip(running, await asyncio.gather(*(check.get_result() for check in running.values())), strict=True))
    report, essential_down, degraded = {}, False, False
    for name, (check, essential) in checks.items():
        if check is None:
            report[name] = {"status": "not_used", "detail": "tasks run in-process (no broker configured)"}
            continue
        result = results[name]
        state = {"status": "ok" if result.error is None else "unavailable", "essential": essential}
        state["seconds"] = round(result.time_taken, 3)
        if result.error is not None:
            state["detail"] = str(getattr(result.error, "message", result.error))
            essential_down |= essential
            degraded |= not essential
        report[name] = state
    status = "unavailable" if essential_down else "degraded" if degraded else "ok"
    response = JsonResponse({"status": status, "checks": report}, status=503 if essential_down else 200)
    response["Cache-Control"] = "no-store"
    return response


def liveness(request):
    """The process is up and answering; no dependency is touched."""
    return JsonResponse({"status": "ok"})


def ping(request):
    """The smallest JSON view: the baseline the gate-decision benchmark compares itself with."""
    return JsonResponse({"pong": True})
