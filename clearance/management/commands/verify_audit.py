"""Prove the audit trail: every declaration's hash chain and every signed anchor."""

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from clearance.services.audit import audit_verify
from vehicles.models import LOCAL_TZ


class Command(BaseCommand):
    help = "Verify the audit trail's hash chains and anchors; exits non-zero naming the first broken row."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="Local date (YYYY-MM-DD): only chains with events since then.")

    def handle(self, *args, since=None, **options):
        start = None
        if since:
            day = parse_date(since)
            if day is None:
                raise CommandError(f"--since {since!r} is not a date (YYYY-MM-DD).")
            start = datetime.combine(day, time.min, tzinfo=LOCAL_TZ)
        report = audit_verify(since=start)
        summary = f"{report.chains} chains, {report.events} events, {report.anchors} anchors"
        if report.intact:
            self.stdout.write(f"audit trail intact: {summary}")
            return
        for problem in report.problems:
            self.stderr.write(problem)
        raise CommandError(
            f"audit trail BROKEN ({len(report.problems)} problems): {summary}; first: {report.problems[0]}"
        )
