"""``manage.py export_kpis --date 2027-06-15 [--format csv|xlsx] [--out FILE]``: the province's daily figures."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clearance.kpis import daily_kpis, kpis_csv, kpis_xlsx

FORMATS = ("csv", "xlsx")


class Command(BaseCommand):
    help = (
        "Write a local day's KPIs per route and direction (vehicles, containers, declared value, stage "
        "percentiles, holds by reason, fees issued and paid, offline gate decisions) as CSV or XLSX."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", required=True, help="the local day (Asia/Ho_Chi_Minh), YYYY-MM-DD")
        parser.add_argument("--format", default="csv", help="csv (default) or xlsx")
        parser.add_argument("--out", help="file to write (default: kpis-<date>.<format>; '-' for stdout, CSV only)")

    def handle(self, *args, **options):
        try:
            day = date.fromisoformat(options["date"])
        except ValueError:
            raise CommandError(
                f"--date: {options['date']!r} is not a date; give YYYY-MM-DD, e.g. 2027-06-15."
            ) from None
        kind = options["format"].lower()
        if kind not in FORMATS:
            raise CommandError(f"--format: {options['format']!r} is not accepted; give one of {', '.join(FORMATS)}.")
        out = options["out"] or f"kpis-{day.isoformat()}.{kind}"
        if out == "-" and kind != "csv":
            raise CommandError("--out -: only CSV is written to standard output; give a file name for XLSX.")
        rows = daily_kpis(day=day)
        if out == "-":
            sys.stdout.write(kpis_csv(rows))
            return
        path = Path(out)
        if kind == "csv":
            path.write_text(kpis_csv(rows), encoding="utf-8")
        else:
            path.write_bytes(kpis_xlsx(rows, day=day))
        self.stdout.write(f"Wrote {path}: {len(rows)} route and direction row(s) for {day.isoformat()}.")
