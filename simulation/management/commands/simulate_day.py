"""``manage.py simulate_day --profile 2027-target --speed max --seed 1 --out DIR``: a whole day at the gate."""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from clearance.models import ServiceLevelObjective
from simulation.capacity import LADDER, SLO_FIELDS, Trial, capacity_find, lane_capacities, setting_in_full
from simulation.engine import SimulationError, simulate
from simulation.paced import simulate_paced
from simulation.profiles import ProfileError, profile_load, profile_names
from simulation.report import report_write


class Command(BaseCommand):
    help = (
        "Replay a day's traffic profile through the real services on a virtual clock and write summary.json, "
        "stages.csv and report.html. Runs against a scratch database of its own (created and dropped), unless "
        "--use-database."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--profile", required=True, help=f"a profile name ({', '.join(profile_names())}) or a .json path"
        )
        parser.add_argument("--seed", type=int, default=1, help="same seed, same day (default 1)")
        parser.add_argument(
            "--speed",
            default="max",
            help="max: as fast as the machine allows, on a virtual clock, in a scratch database; a number (1, 5, 100): "
            "paced, that many times real time, against the live stack at --base-url and DATABASE_URL's database",
        )
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="paced runs: the running server the declarations and gate reads are sent to (default %(default)s); "
            "its workers must take tasks from this process's broker and it must use DATABASE_URL's database",
        )
        parser.add_argument("--out", help="output directory (default sim-out/<profile>-seed<seed>)")
        parser.add_argument(
            "--use-database",
            action="store_true",
            help="run against DATABASE_URL's database itself (it must hold no declarations) instead of a scratch one",
        )
        parser.add_argument(
            "--keep-db", action="store_true", help="keep the scratch database afterwards (its name is printed)"
        )
        parser.add_argument(
            "--find-capacity",
            action="store_true",
            help="search the smallest lane throughput and officers per force that meet the objectives (many days)",
        )
        parser.add_argument(
            "--scale",
            type=float,
            default=0.25,
            help="--find-capacity: run each trial on this share of the day (vehicles, lanes, officers); default 0.25",
        )
        parser.add_argument(
            "--ladder",
            default=",".join(f"{step:g}" for step in LADDER),
            help="--find-capacity: the multiples tried, smallest first (default %(default)s)",
        )

    def handle(self, *args, **options):
        speed = _speed(options["speed"])
        if speed is not None and options["find_capacity"]:
            raise CommandError("--find-capacity runs many days on the virtual clock: use it with --speed max.")
        if speed is not None:
            options["use_database"] = True  # the live stack's database: the server and workers write it too
            if current_app.conf.task_always_eager:
                raise CommandError(
                    "A paced run sends work to the live stack's Celery workers: set CELERY_BROKER_URL to its broker "
                    "(tasks run in-process without one)."
                )
        try:
            profile = profile_load(options["profile"])
        except ProfileError as error:
            raise CommandError(str(error)) from None
        if options["find_capacity"] and options["use_database"]:
            raise CommandError(
                "--find-capacity empties its database between trials: it runs in a scratch database only."
            )
        try:
            ladder = tuple(sorted({float(step) for step in options["ladder"].split(",")}))
        except ValueError:
            raise CommandError(
                f"--ladder: {options['ladder']!r} is not accepted; give multiples, e.g. 0.5,1,2."
            ) from None
        if not ladder or ladder[0] <= 0:
            raise CommandError("--ladder: give positive multiples, e.g. 0.5,1,2.")
        if not 0 < options["scale"] <= 1:
            raise CommandError(f"--scale: {options['scale']} is not accepted; give a share in (0, 1], e.g. 0.25.")
        out = Path(options["out"] or f"sim-out/{profile.name}-seed{options['seed']}")
        out.mkdir(parents=True, exist_ok=True)
        objectives = [] if options["use_database"] else _objectives_in_force()
        # A day writes hundreds of thousands of rows: no query log, and only warnings from the services' loggers.
        settings.DEBUG = False
        logging.disable(logging.INFO)
        wall = time.monotonic()
        old_name = connection.settings_dict["NAME"]
        scratch = None
        try:
            if not options["use_database"]:
                connection.settings_dict.setdefault("TEST", {})
                connection.settings_dict["TEST"]["NAME"] = f"{Path(str(old_name)).name}_sim_{os.getpid()}"
                # Connections pooled for DATABASE_URL's database (the objectives were read through one) would
                # otherwise serve the scratch database's name: the day would run in the live database.
                connection.close()
                if connection.vendor == "postgresql":
                    connection.close_pool()
                scratch = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
                if connection.vendor == "postgresql":
                    # A throwaway database: a commit need not wait for its WAL flush (a crash loses the day, no more).
                    with connection.cursor() as cursor:
                        cursor.execute(f'ALTER DATABASE "{scratch}" SET synchronous_commit TO off')
                    connection.close()
                    connection.close_pool()  # new sessions, which take the setting
                self.stdout.write(f"Scratch database {scratch} ready in {time.monotonic() - wall:.1f} s")
                # The objectives supervisors keep in the live database judge the simulated day too.
                for objective in objectives:
                    ServiceLevelObjective.objects.create(**objective)
            if options["find_capacity"]:
                self._find_capacity(profile, seed=options["seed"], scale=options["scale"], ladder=ladder)
                return
            day_wall = time.monotonic()
            cpu = time.process_time()
            backend = _backend_cpu()
            if speed is None:
                self.stdout.write(f"Simulating {profile.name} ({profile.vehicles} vehicles), seed {options['seed']}…")
                result = simulate(profile, seed=options["seed"], progress=self._progress)
            else:
                self.stdout.write(
                    f"Simulating {profile.name} ({profile.vehicles} vehicles), seed {options['seed']}, at {speed:g}× "
                    f"real time against {options['base_url']}…"
                )
                result = simulate_paced(
                    profile, seed=options["seed"], speed=speed, base_url=options["base_url"], progress=self._progress
                )
            day_seconds = time.monotonic() - day_wall
            cpu_seconds = time.process_time() - cpu
            backend_after = _backend_cpu()
            backend_seconds = (
                backend_after[1] - backend[1] if backend and backend_after and backend[0] == backend_after[0] else None
            )
            summary = report_write(profile=profile, result=result, out=out, wall_seconds=day_seconds)
        except SimulationError as error:
            raise CommandError(str(error)) from None
        finally:
            logging.disable(logging.NOTSET)
            if scratch is not None:
                connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=options["keep_db"])
                if options["keep_db"]:
                    self.stdout.write(f"Kept the scratch database {scratch}")
        self.stdout.write(summary_text(summary))
        self.stdout.write(f"Wrote {out / 'summary.json'}, {out / 'stages.csv'}, {out / 'report.html'}")
        database_cpu = "not readable" if backend_seconds is None else f"{backend_seconds:.1f} s"
        # On a machine shared with other work the wall time says little; the CPU the day itself used does.
        self.stdout.write(
            f"Wall time: {day_seconds:.1f} s for the day, {time.monotonic() - wall:.1f} s in all. CPU for the day: "
            f"{cpu_seconds:.1f} s in this process, {database_cpu} in its PostgreSQL backend; load average "
            f"{os.getloadavg()[0]:.1f} at the end"
        )

    def _find_capacity(self, profile, *, seed: int, scale: float, ladder: tuple[float, ...] = LADDER) -> None:
        started = time.monotonic()
        self.stdout.write(
            f"Searching lanes and officers for {profile.name}, seed {seed}, each trial on {scale:g} of the day…"
        )

        def report(trial: Trial) -> None:
            missed = [slo["name"] for slo in trial.slos if slo["met"] is False]
            verdict = "meets every objective" if trial.met else f"misses {len(missed)}: {'; '.join(missed)}"
            self.stdout.write(f"  {trial.setting.describe()}: {trial.vehicles} vehicles, {verdict}")

        setting, trials = capacity_find(profile, seed=seed, scale=scale, ladder=ladder, report=report)
        self.stdout.write(f"{len(trials)} trials in {time.monotonic() - started:.1f} s.")
        if setting is None:
            self.stdout.write(
                f"No setting up to lanes ×{ladder[-1]:g} and officers ×{ladder[-1]:g} meets every objective."
            )
            return
        full = setting_in_full(profile, setting, capacities=lane_capacities(profile))
        self.stdout.write(f"Smallest setting that meets every objective: {setting.describe()}")
        self.stdout.write(
            "  lanes, calls per hour: " + ", ".join(f"{k} {v}" for k, v in full["lanes_capacity_per_hour"].items())
        )
        for force, shifts in full["officers_per_shift"].items():
            self.stdout.write(
                f"  {force} officers: " + ", ".join(f"{s['from']:02d}-{s['to']:02d}h {s['count']}" for s in shifts)
            )

    def _progress(self, finished: int, total: int, moment) -> None:
        self.stdout.write(f"  {finished}/{total} vehicles done, simulated clock {moment:%Y-%m-%d %H:%M} UTC")


def summary_text(summary: dict) -> str:
    lines = [
        f"{summary['profile']} seed {summary['seed']}: {summary['vehicles']} vehicles; outcomes {summary['outcomes']}"
    ]
    lines.append(f"{'stage':28} {'count':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  (minutes)")
    for name, figures in summary["stages"].items():
        cells = [
            f"{figures[key]:8.1f}" if figures[key] is not None else f"{'-':>8}" for key in ("p50", "p95", "p99", "max")
        ]
        lines.append(f"{name:28} {figures['count']:6d} {' '.join(cells)}")
    fees = summary["fees"]
    lines.append(
        f"fees: {fees['issued']} issued ({fees['issued_vnd']:,} VND), {fees['paid']} paid ({fees['paid_vnd']:,} VND)"
    )
    lines.append(f"gate holds by reason: {summary['gate_holds_by_reason']}")
    for slo in summary.get("slos", []):
        verdict = {True: "met", False: "NOT met", None: "no vehicle measured"}[slo["met"]]
        lines.append(
            f"SLO {slo['name']}: p{slo['percentile']} {slo['value_minutes']} min against {slo['target_minutes']} "
            f"({verdict}; {slo['within_target_share']} of {slo['count']} within)"
        )
    return "\n".join(lines)


def _speed(text: str) -> float | None:
    """None for max (the virtual clock), else the paced speed (times real time)."""
    if text == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        speed = 0
    if not math.isfinite(speed) or speed <= 0:
        raise CommandError(f"--speed: {text!r} is not accepted; give max, or a positive number such as 1, 5 or 100.")
    return speed


def _objectives_in_force() -> list[dict]:
    """The active objectives of DATABASE_URL's database, if it has the table (a bare server has not)."""
    try:
        return list(ServiceLevelObjective.objects.filter(is_active=True).values(*SLO_FIELDS))
    except DatabaseError:
        connection.close()  # the failed query left the connection in an aborted transaction state
        return []


def _backend_cpu() -> tuple[int, float] | None:
    """(pid, CPU seconds so far) of this connection's PostgreSQL backend, when it runs on this machine."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime, fields 14 and 15 of proc(5), counted here from the state (field 3).
    return pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
