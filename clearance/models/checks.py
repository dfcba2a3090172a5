"""Checks (the outbox of asynchronous work) and the inspections they lead to."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# The reason code of a check that kept failing (the customs system did not answer, say).
CHECK_FAILED_REASON = "check_failed"


class CheckReason(models.TextChoices):
    """Reason codes any force's check may give, in plain words (Vietnamese in locale/vi)."""

    NO_GOODS = "no_goods_to_check", _("An empty truck carries no goods: this check does not apply.")


class CheckStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Check(models.Model):
    """One force's check of one version of a declaration.

    Written in the same transaction as the submit or amendment, so it is the durable record of work to
    do: the Celery message only wakes a worker, and reconciliation re-sends what was lost.
    """

    class Kind(models.TextChoices):
        CUSTOMS = "customs", _("Customs risk")
        BORDER_GUARD = "border_guard", _("Border guard")
        QUARANTINE = "quarantine", _("Quarantine")
        HEALTH = "health", _("Border health quarantine")

    Status = CheckStatus

    class Outcome(models.TextChoices):
        GREEN = "green", _("Green channel")
        YELLOW = "yellow", _("Yellow channel")
        RED = "red", _("Red channel")
        PASS = "pass", _("Pass")
        FLAG = "flag", _("Flag for manual check")
        INSPECTION = "inspection", _("Inspection needed")
        DENY = "deny", _("Deny")
        SUPERSEDED = "superseded", _("Superseded by an amendment")
        # Recorded, never skipped: the health check outside an epidemic period, customs and plant/animal
        # quarantine for an empty truck.
        NOT_REQUIRED = "not_required", _("Not required")

    # Indexed by check_once_per_version_kind, which leads with it.
    declaration = models.ForeignKey(
        "clearance.Declaration", on_delete=models.CASCADE, related_name="checks", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices)
    version = models.PositiveIntegerField(_("declaration version checked"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claim_token = models.CharField(max_length=64, blank=True, editable=False)
    claimed_by_task = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    enqueued_at = models.DateTimeField(_("last enqueued at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("check")
        verbose_name_plural = _("checks")
        ordering = ["declaration_id", "version", "kind"]
        constraints = [
            # One check per force and version: a second delivery can never add a second outcome.
            models.UniqueConstraint(fields=["declaration", "version", "kind"], name="check_once_per_version_kind"),
            models.CheckConstraint(
                name="check_done_has_outcome", condition=~Q(status=CheckStatus.DONE) | ~Q(outcome="")
            ),
        ]
        indexes = [
            # Reconciliation scans only unfinished checks.
            models.Index(
                fields=["status", "enqueued_at"],
                name="check_unfinished_idx",
                condition=Q(status__in=[CheckStatus.PENDING, CheckStatus.RUNNING]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}: {self.outcome or self.status}"


class Inspection(models.Model):
    """Work for one force's officers: a document review, a physical inspection, a manual check."""

    class Force(models.TextChoices):
        CUSTOMS = "customs", _("Customs")
        BORDER_GUARD = "border_guard", _("Border guard")
        QUARANTINE = "quarantine", _("Quarantine")
        HEALTH = "health", _("Border health quarantine")

    class Kind(models.TextChoices):
        DOCUMENT_REVIEW = "document_review", _("Document review")
        PHYSICAL = "physical", _("Physical inspection")
        MANUAL_CHECK = "manual_check", _("Manual check of driver and vehicle")
        QUARANTINE = "quarantine", _("Quarantine inspection")
        HEALTH_SCREENING = "health_screening", _("Health screening of driver and crew")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Failed")
        WITHDRAWN = "withdrawn", _("Withdrawn (declaration amended)")

    class Result(models.TextChoices):
        """What an officer records."""

        PASS = "pass", _("Pass")
        FAIL = "fail", _("Fail")

    declaration = models.ForeignKey("clearance.Declaration", on_delete=models.CASCADE, related_name="inspections")
    version = models.PositiveIntegerField(_("declaration version"))
    force = models.CharField(_("force"), max_length=15, choices=Force.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("resolved by"), null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-id"]
        constraints = [
            # One open inspection per force and version; a recorded one is never reopened: a new finding
            # (a weighbridge reading after a passed inspection) opens another.
            models.UniqueConstraint(
                fields=["declaration", "version", "force"],
                condition=Q(status="open"),
                name="inspection_open_once_per_force",
            ),
        ]
        indexes = [models.Index(fields=["force", "status"], name="inspection_force_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_force_display()})"
