"""``manage.py simulate_day --profile 2027-target --speed max --seed 1 --out DIR``: a whole day at the gate."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from simulation.engine import SimulationError, simulate
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
        parser.add_argument("--speed", default="max", help="max: as fast as the machine allows, on a virtual clock")
        parser.add_argument("--out", help="output directory (default sim-out/<profile>-seed<seed>)")
        parser.add_argument(
            "--use-database",
            action="store_true",
            help="run against DATABASE_URL's database itself (it must hold no declarations) instead of a scratch one",
        )
        parser.add_argument(
            "--keep-db", action="store_true", help="keep the scratch database afterwards (its name is printed)"
        )

    def handle(self, *args, **options):
        if options["speed"] != "max":
            raise CommandError(
                "Only --speed max (virtual clock) is implemented; paced runs (1, 5, 100) against a live stack are not."
            )
        try:
            profile = profile_load(options["profile"])
        except ProfileError as error:
            raise CommandError(str(error)) from None
        out = Path(options["out"] or f"sim-out/{profile.name}-seed{options['seed']}")
        out.mkdir(parents=True, exist_ok=True)
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
                scratch = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
                if connection.vendor == "postgresql":
                    # A throwaway database: a commit need not wait for its WAL flush (a crash loses the day, no more).
                    with connection.cursor() as cursor:
                        cursor.execute(f'ALTER DATABASE "{scratch}" SET synchronous_commit TO off')
                    connection.close()
                self.stdout.write(f"Scratch database {scratch} ready in {time.monotonic() - wall:.1f} s")
            day_wall = time.monotonic()
            self.stdout.write(f"Simulating {profile.name} ({profile.vehicles} vehicles), seed {options['seed']}…")
            result = simulate(profile, seed=options["seed"], progress=self._progress)
            day_seconds = time.monotonic() - day_wall
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
        self.stdout.write(f"Wall time: {day_seconds:.1f} s for the day, {time.monotonic() - wall:.1f} s in all")

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
        verdict = "met" if slo["met"] else "NOT met"
        lines.append(
            f"SLO {slo['name']}: p{slo['percentile']} {slo['value_minutes']} min against {slo['target_minutes']} "
            f"({verdict}; {slo['within_target_share']} of {slo['count']} within)"
        )
    return "\n".join(lines)
