"""simulate_day: profiles load and are validated, a seed gives the same day, the summary's figures are those
the database holds, and no vehicle is left between stages. The days here are tiny (a few dozen trucks)."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from clearance.models import Declaration, ServiceLevelObjective
from simulation.capacity import Setting, capacity_find, profile_for
from simulation.engine import SimulationError, simulate
from simulation.management.commands.simulate_day import Command as SimulateDayCommand
from simulation.profiles import FORCES, ProfileError, profile_from_dict, profile_load, profile_names
from simulation.report import STAGES, outcome_of, percentile, stage_times

TINY = Path(__file__).resolve().parent / "tiny.json"
ENDED = {"crossed", "rejected", "cancelled"}


def tiny(**changes) -> dict:
    data = json.loads(TINY.read_text(encoding="utf-8"))
    data.update(changes)
    return data


# --- Profiles ------------------------------------------------------------------------------------------


def test_the_shipped_profiles_load_with_the_published_figures():
    assert {"2023-record", "2027-target", "tet-surge", "fruit-season", "2030-5x"} <= set(profile_names())
    record = profile_load("2023-record")
    assert 1300 <= record.vehicles <= 1400  # ~1,350 trucks a day (DOMAIN.md)
    target = profile_load("2027-target")
    assert 2000 <= target.routes["1119-1120"]["vehicles"] <= 2500
    assert 800 <= target.routes["1088/2-1089"]["vehicles"] <= 1200
    for name in profile_names():
        profile = profile_load(name)
        assert len(profile.hourly_weights) == 24
        assert profile.officers_on_duty("customs", 10) > 0


def test_a_profile_is_found_by_path_too():
    assert profile_load(str(TINY)).name == "tiny"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"day": "15/06/2027"}, "day: an ISO date"),
        ({"hourly_weights": [1] * 23}, "hourly_weights: 24 non-negative numbers"),
        ({"goods_mix": {"perishable": 0.5, "ore": 0.2}}, "goods_mix: shares must add up to 1"),
        ({"goods_mix": {"gold": 1}}, "goods_mix: unknown goods type"),
        ({"channels": {"yellow": 0.6, "red": 0.6}}, "yellow \\+ red cannot exceed 1"),
        ({"routes": {"1119-1120": {"vehicles": -1, "export_share": 0.5}}}, "routes.1119-1120.vehicles"),
        ({"officers": {"customs": [{"from": 0, "to": 24, "count": 1}]}}, "officers: shifts for each of"),
    ],
)
def test_a_wrong_profile_is_refused_naming_the_field(change, message):
    with pytest.raises(ProfileError, match=message):
        profile_from_dict(tiny(**change))


def test_an_unknown_profile_lists_the_known_ones():
    with pytest.raises(ProfileError, match="2027-target"):
        profile_load("no-such-day")


def test_declaring_under_the_notice_is_refused():
    data = tiny()
    data["forwarders"] = {**data["forwarders"], "declare_lead_hours": [1, 5]}
    with pytest.raises(ProfileError, match="declare_lead_hours"):
        profile_from_dict(data)


def test_percentile_is_the_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


# --- A day -----------------------------------------------------------------------------------------------


def _minutes_sql(start: str, end: str, p: float) -> float | None:
    """The stage's percentile recomputed by PostgreSQL (percentile_disc) from the stored times."""
    table = Declaration._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT percentile_disc(%s) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM {end} - {start}) / 60) "
            f"FROM {table} WHERE {start} IS NOT NULL AND {end} IS NOT NULL",
            [p / 100],
        )
        value = cursor.fetchone()[0]
    return None if value is None else round(float(value), 2)


COLUMNS = {"arrived_at", "called_at", "in_lane_at", "crossed_at"}  # Declaration fields of the same names


@pytest.mark.django_db(transaction=True)
def test_a_day_ends_every_vehicle_and_its_summary_is_the_databases(tmp_path):
    call_command("simulate_day", "--profile", str(TINY), "--seed", "3", "--use-database", "--out", str(tmp_path))

    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    declarations = list(Declaration.objects.all())
    assert summary["vehicles"] == len(declarations) == profile_load(str(TINY)).vehicles
    # Every generated vehicle ended crossed, rejected or cancelled: none left in between.
    assert {outcome_of(declaration) for declaration in declarations} <= ENDED
    assert summary["in_between"] == 0
    assert set(summary["outcomes"]) <= ENDED
    assert summary["outcomes"]["crossed"] > len(declarations) / 2
    # The percentiles are those PostgreSQL computes from the stage times the services stored.
    if connection.vendor == "postgresql":
        for name, start, end in STAGES:
            if start in COLUMNS and end in COLUMNS:
                for p in (50, 95, 99):
                    assert summary["stages"][name][f"p{p}"] == _minutes_sql(start, end, p), name
    # …and the same as recomputed in Python from the rows read back.
    rows = stage_times()
    crossed = [(row["crossed_at"] - row["arrived_at"]).total_seconds() / 60 for row in rows if row["crossed_at"]]
    assert summary["stages"]["arrival → crossed"]["count"] == len(crossed) == summary["outcomes"]["crossed"]
    assert summary["stages"]["arrival → crossed"]["max"] == round(max(crossed), 2)
    # One CSV row per vehicle, each with its stage times; a self-contained report with charts.
    with (tmp_path / "stages.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == len(declarations)
    assert all(row["crossed_at"] for row in table if row["outcome"] == "crossed")
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert report.count("<svg") >= 3
    assert "<script" not in report and "src=" not in report and "<link" not in report  # nothing fetched
    assert summary["fees"]["paid"] <= summary["fees"]["issued"]
    # The objectives are data, judged on the same stored times.
    assert summary["slos"] and all(
        slo["met"] == (None if slo["value_minutes"] is None else slo["value_minutes"] <= slo["target_minutes"])
        for slo in summary["slos"]
    )
    assert "Service-level objectives" in report
    assert sum(hour["crossings"] for hour in summary["hourly"]) == summary["outcomes"]["crossed"]


def _day(seed: int) -> dict:
    """The day's stage rows by plate (ids and references follow the database's sequences)."""
    return {
        row["plate"]: {key: value for key, value in row.items() if key not in {"id", "reference"}}
        for row in stage_times()
    }


@pytest.mark.django_db(transaction=True)
def test_the_same_seed_gives_the_same_day():
    profile = profile_from_dict(
        tiny(
            routes={
                "1119-1120": {"vehicles": 8, "export_share": 0.5},
                "1088/2-1089": {"vehicles": 4, "export_share": 0.5},
            }
        )
    )
    simulate(profile, seed=7)
    first = _day(7)
    call_command("flush", interactive=False, verbosity=0)
    simulate(profile, seed=7)
    assert _day(7) == first
    assert len(first) == 12


@pytest.mark.django_db(transaction=True)
def test_a_day_needs_a_database_of_its_own():
    small = copy.deepcopy(tiny(routes={"1119-1120": {"vehicles": 2, "export_share": 1}}))
    simulate(profile_from_dict(small), seed=1)
    with pytest.raises(SimulationError, match="database of its own"):
        simulate(profile_from_dict(small), seed=1)


# --- The capacity search -----------------------------------------------------------------------------------


def _objective(target_minutes: int) -> None:
    ServiceLevelObjective.objects.all().delete()
    ServiceLevelObjective.objects.create(
        name=f"Every crossing within {target_minutes} minutes",
        stage=ServiceLevelObjective.Stage.ARRIVAL_TO_CROSSED,
        percentile=99,
        target_minutes=target_minutes,
    )


def _small() -> object:
    return profile_from_dict(
        tiny(
            routes={
                "1119-1120": {"vehicles": 4, "export_share": 0.5},
                "1088/2-1089": {"vehicles": 2, "export_share": 0.5},
            }
        )
    )


@pytest.mark.django_db(transaction=True)
def test_find_capacity_gives_the_smallest_setting_that_meets_the_objectives():
    _objective(100_000)  # met by any setting: the smallest of the ladder is the answer

    setting, trials = capacity_find(_small(), seed=2, scale=1, ladder=(0.5, 1.0))

    assert setting == Setting(lanes=0.5, officers=tuple(sorted((force, 0.5) for force in FORCES)))
    assert all(trial.met and trial.vehicles == 6 for trial in trials)
    # Each setting is tried once: the lanes at both steps, then each force at its smallest.
    assert len(trials) == len({trial.setting for trial in trials}) == 2 + len(FORCES)
    # The objective supervisors set is the one each trial is judged by, though every trial empties the database.
    assert [slo["name"] for slo in trials[-1].slos] == ["Every crossing within 100000 minutes"]


@pytest.mark.django_db(transaction=True)
def test_find_capacity_says_when_no_setting_meets_the_objectives():
    _objective(1)  # no truck crosses within a minute of arriving

    setting, trials = capacity_find(_small(), seed=2, scale=1, ladder=(0.5, 1.0))

    assert setting is None
    assert len(trials) == 1 and not trials[0].met  # the top of the ladder missed: nothing smaller is tried


def test_a_scaled_down_trial_keeps_at_least_one_lane_place_and_officer():
    profile = profile_load("2027-target")
    setting = Setting(lanes=1.0, officers=tuple((force, 1.0) for force in FORCES))
    scaled = profile_for(profile, setting, scale=0.25, capacities={"1119-EX1": 60, "1088-EX1": 2})
    assert scaled.routes["1119-1120"]["vehicles"] == round(2250 * 0.25)
    assert scaled.lanes["1119-EX1"]["capacity_per_hour"] == 15
    assert scaled.lanes["1088-EX1"]["capacity_per_hour"] == 1
    assert all(shift["count"] >= 1 for shifts in scaled.officers.values() for shift in shifts)


@pytest.mark.django_db(transaction=True)
def test_find_capacity_prints_the_setting_and_what_it_means_per_lane_and_shift():
    _objective(100_000)
    out = io.StringIO()

    SimulateDayCommand(stdout=out)._find_capacity(_small(), seed=2, scale=1, ladder=(1.0,))

    text = out.getvalue()
    assert "1 trials" in text
    assert "Smallest setting that meets every objective: lanes ×1; officers" in text
    assert "1119-EX1 " in text and "customs officers: 00-06h 4" in text  # the tiny profile's own shifts


def test_a_wrong_ladder_or_scale_is_refused_naming_the_option():
    with pytest.raises(CommandError, match="--ladder"):
        call_command("simulate_day", "--profile", str(TINY), "--find-capacity", "--ladder", "one,two")
    with pytest.raises(CommandError, match="--scale"):
        call_command("simulate_day", "--profile", str(TINY), "--find-capacity", "--scale", "2")
    with pytest.raises(CommandError, match="scratch database only"):
        call_command("simulate_day", "--profile", str(TINY), "--find-capacity", "--use-database")
