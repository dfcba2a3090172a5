"""simulate_day at a paced speed: the day runs against a live server (declarations and gate reads over HTTP)
and a real Celery worker (the checks), and its summary is still the database's."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from clearance.models import Check, Declaration
from simulation.report import day_clock, rows_on_day_clock, stage_figures, stage_times
from tests.e2e.conftest import broker, database_url, no_random_selection, worker  # noqa: F401 (fixtures)
from vehicles.models import BorderGate, Lane

PACED = "smoke"
ENDED = {"crossed", "rejected", "cancelled"}


def test_a_paced_day_runs_through_the_live_server_and_the_workers(live_server, worker, tmp_path):  # noqa: F811
    started = worker()
    out = io.StringIO()
    call_command("load_reference", stdout=io.StringIO())
    rules = real_clock_rules()

    call_command(
        "simulate_day",
        "--profile",
        PACED,
        "--seed",
        "2",
        "--speed",
        "2000",
        "--base-url",
        live_server.url,
        "--out",
        str(tmp_path),
        stdout=out,
    )

    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["vehicles"] == Declaration.objects.count() == 10
    assert summary["in_between"] == 0
    assert set(summary["outcomes"]) <= ENDED
    assert summary["outcomes"].get("crossed", 0) >= 1
    assert summary["run"]["speed"] == 2000
    # Every check was claimed by a task the worker process received (not run in this process).
    log = started.log_path.read_text()
    claims = list(Check.objects.values_list("claimed_by_task", flat=True))
    assert claims and all(claim and f"check_run_task[{claim}] received" in log for claim in claims)
    # The summary's stage figures are those recomputed from the stored times, taken to the day's clock.
    assert summary["stages"] == stage_figures(rows_on_day_clock(stage_times(), day_clock(summary["run"])))
    assert "at 2000× real time" in out.getvalue()
    # The lanes' capacities and hours and the gates' notice, scaled for the run, are back as they were.
    assert real_clock_rules() == rules


def real_clock_rules() -> list:
    lanes = Lane.objects.order_by("id").values_list("capacity_per_hour", "opens_at", "closes_at")
    return [*lanes, *BorderGate.objects.order_by("id").values_list("crossing_notice_hours")]


@pytest.mark.parametrize("speed", ["0", "-5", "fast", "nan"])
def test_a_wrong_speed_is_refused_naming_the_option(speed):
    with pytest.raises(CommandError, match="--speed"):
        call_command("simulate_day", "--profile", PACED, "--speed", speed, stdout=io.StringIO())


def test_a_paced_run_needs_the_stacks_broker():
    with pytest.raises(CommandError, match="CELERY_BROKER_URL"):
        call_command("simulate_day", "--profile", PACED, "--speed", "100", stdout=io.StringIO())
