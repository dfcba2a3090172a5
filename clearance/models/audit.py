"""The audit trail beyond declarations' own events, and its anchors.

Declarations' events chain per declaration (DeclarationEvent). Everything else that must be evidence —
officers' lane actions, reference-data changes, summaries of the barrier's decisions — is appended to an
``AuditRecord`` chain of its subject (one chain per lane, per reference model, per lane's barrier), its
head kept in ``AuditChainHead`` (locked per chain, never globally). Anchors sign a Merkle root over the
heads of all chains of both kinds."""

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
    # The audit records (AuditRecord) included; 0 on anchors made before those chains existed.
    last_record_id = models.BigIntegerField(_("last audit record included"), default=0)
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
        message = f"{at}|{self.last_event_id}|{self.chains}|{self.events}|{self.root}"
        # Anchors signed before the record chains existed keep the message they were signed with.
        return f"{message}|{self.last_record_id}" if self.last_record_id else message


class AuditChainHead(models.Model):
    """Where one chain of audit records ends: appending locks this row only (the chain's own lock)."""

    chain = models.CharField(_("chain"), max_length=120, primary_key=True)
    seq = models.PositiveBigIntegerField(_("length"), default=0)
    head = models.CharField(_("last hash"), max_length=64)

    class Meta:
        verbose_name = _("audit chain")
        verbose_name_plural = _("audit chains")

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq}"


class AuditRecord(models.Model):
    """One link of an audit chain other than a declaration's: written only by clearance.services.ledger,
    never updated or deleted (PostgreSQL triggers refuse it)."""

    class Kind(models.TextChoices):
        LANE_EVENT = "lane_event", _("Lane action")
        REFERENCE_CHANGE = "reference_change", _("Reference data changed")
        GATE_DECISIONS = "gate_decisions", _("Barrier decisions (summary)")

    chain = models.CharField(_("chain"), max_length=120)
    seq = models.PositiveBigIntegerField(_("sequence in the chain"))
    at = models.DateTimeField(_("at"))
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    actor = models.CharField(_("actor"), max_length=150, blank=True)
    user_id = models.IntegerField(_("user id"), null=True, blank=True)  # no FK: the record outlives the user
    subject = models.CharField(_("subject"), max_length=120)
    data = models.JSONField(_("data"), default=dict)
    prev_hash = models.CharField(_("previous record's hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="auditrecord_chain_seq_unique")]
        triggers = [pgtrigger.Protect(name="audit_record_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq} {self.kind}"
