"""Anchors of the audit trail: a signed Merkle root over every declaration's chain head."""

from __future__ import annotations

from datetime import UTC

import pgtrigger
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAnchor(models.Model):
    """At ``created_at``, the chains of all declarations up to event ``last_event_id`` had this root.

    Exported as it is made (log line, ``manage.py audit_anchors --out``), so a copy lives outside the
    system: rewriting any chain, even from its first event, no longer matches a root kept elsewhere.
    """

    created_at = models.DateTimeField(_("created at"))
    last_event_id = models.BigIntegerField(_("last event included"))
    chains = models.PositiveIntegerField(_("chains"))
    events = models.PositiveBigIntegerField(_("events"))
    root = models.CharField(_("Merkle root"), max_length=64)
    signature = models.CharField(_("signature (HMAC-SHA256)"), max_length=64)

    class Meta:
        verbose_name = _("audit anchor")
        verbose_name_plural = _("audit anchors")
        ordering = ["-id"]
        triggers = [pgtrigger.Protect(name="audit_anchor_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.root[:16]}…"

    @property
    def message(self) -> str:
        """What the signature covers."""
        at = self.created_at.astimezone(UTC).isoformat(timespec="microseconds")
        return f"{at}|{self.last_event_id}|{self.chains}|{self.events}|{self.root}"
