"""Anchor the audit trail now and export the anchors (one JSON line each) to keep outside the system."""

import json

from django.core.management.base import BaseCommand

from clearance.models import AuditAnchor
from clearance.services.audit import anchor_export, audit_anchor_create


class Command(BaseCommand):
    help = "Create an audit anchor now (unless nothing changed) and print or write all anchors as JSON lines."

    def add_arguments(self, parser):
        parser.add_argument("--out", help="Append the anchors to this file instead of printing them.")
        parser.add_argument("--no-create", action="store_true", help="Only export the anchors already made.")

    def handle(self, *args, out=None, no_create=False, **options):
        if not no_create:
            audit_anchor_create()
        lines = [json.dumps(anchor_export(anchor)) for anchor in AuditAnchor.objects.order_by("id")]
        if out:
            with open(out, "a", encoding="utf-8") as handle:
                handle.writelines(line + "\n" for line in lines)
            self.stdout.write(f"{len(lines)} anchors written to {out}")
        else:
            self.stdout.write("\n".join(lines))
