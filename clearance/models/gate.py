"""The gate: barrier decisions, handovers, the infrastructure-use fee and its payments."""

from __future__ import annotations

from decimal import Decimal

import pgtrigger
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from vehicles.models import Direction, GateDevice, Lane, Yard


class GateDecision(models.Model):
    """Every plate read at a lane barrier and what the barrier was told."""

    class Decision(models.TextChoices):
        OPEN = "open", _("Open")
        HOLD = "hold", _("Hold")

    class HoldReason(models.TextChoices):
        """Why the barrier stays down: stable codes, documented in the README and the OpenAPI schema."""

        LOW_CONFIDENCE = "low_confidence", _("Plate read with low confidence")
        LANE_CLOSED = "lane_closed", _("Lane closed")
        OUTSIDE_HOURS = "outside_hours", _("Outside the lane's hours")
        NOT_DECLARED = "not_declared", _("No active declaration")
        WRONG_ROUTE = "wrong_route", _("Declared for another route")
        WRONG_DIRECTION = "wrong_direction", _("Declared for the other direction")
        NOT_CLEARED = "not_cleared", _("Not cleared")
        INSPECTION_PENDING = "inspection_pending", _("Inspection pending")
        FEE_UNPAID = "fee_unpaid", _("Fee unpaid")
        NOT_CALLED = "not_called", _("Not called to a lane")
        CALLED_TO_OTHER_LANE = "called_to_other_lane", _("Called to another lane")

    device = models.ForeignKey(GateDevice, on_delete=models.PROTECT)
    lane = models.ForeignKey(Lane, on_delete=models.PROTECT, related_name="decisions")
    plate_read = models.CharField(_("plate as read"), max_length=20)
    normalized_plate = models.CharField(_("normalized plate"), max_length=20)
    confidence = models.DecimalField(_("confidence"), max_digits=4, decimal_places=3)
    read_at = models.DateTimeField(_("read at"))
    decided_at = models.DateTimeField(_("decided at"), auto_now_add=True)
    decision = models.CharField(_("decision"), max_length=4, choices=Decision.choices)
    reasons = models.JSONField(_("reasons"), default=list)
    declaration = models.ForeignKey(
        "clearance.Declaration", null=True, blank=True, on_delete=models.SET_NULL, related_name="gate_decisions"
    )

    class Meta:
        verbose_name = _("barrier decision")
        verbose_name_plural = _("barrier decisions")
        ordering = ["-id"]
        # Evidence, summed up in the lane's audit chain (services.ledger): never updated or deleted.
        triggers = [pgtrigger.Protect(name="gate_decision_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]
        indexes = [models.Index(fields=["lane", "-decided_at"], name="gatedecision_lane_time_idx")]

    def __str__(self) -> str:
        return f"{self.plate_read} at {self.lane}: {self.decision}"


class Handover(models.Model):
    """Containers moved at the transfer yard from the truck that brought them to an autonomous vehicle."""

    declaration = models.ForeignKey("clearance.Declaration", on_delete=models.CASCADE, related_name="handovers")
    yard = models.ForeignKey(Yard, on_delete=models.PROTECT)
    device = models.ForeignKey(GateDevice, null=True, blank=True, on_delete=models.PROTECT)
    from_plate = models.CharField(_("from vehicle"), max_length=20)
    containers = models.JSONField(_("containers transferred"), default=list)
    missing = models.JSONField(_("declared but not transferred"), default=list)
    unexpected = models.JSONField(_("transferred but not declared"), default=list)
    occurred_at = models.DateTimeField(_("occurred at"))

    class Meta:
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.from_plate} → {self.declaration}"

    @property
    def matched(self) -> bool:
        return not self.missing and not self.unexpected


class Tariff(models.Model):
    """An infrastructure-use fee schedule (Resolution 09/2025/NQ-HĐND), in force between two dates."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=255)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    max_fee_vnd = models.PositiveIntegerField(
        _("maximum fee per trip (VND)"), null=True, blank=True, help_text=_("No computed fee exceeds it.")
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")
        ordering = ["-valid_from"]

    def __str__(self) -> str:
        return self.name


class TariffRate(models.Model):
    """The base rate per trip for a vehicle weight class or a container size."""

    class Basis(models.TextChoices):
        WEIGHT_CLASS = "weight_class", _("Vehicle weight class")
        CONTAINER = "container", _("Container size")

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="rates")
    basis = models.CharField(_("basis"), max_length=15, choices=Basis.choices)
    key = models.CharField(
        _("class or size"),
        max_length=20,
        help_text=_(
            "Weight class upper bound in kg (e.g. 2000; 'max' for the top class) or container size (20, 40, 45)."
        ),
    )
    amount_vnd = models.PositiveIntegerField(_("amount (VND)"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tariff rate")
        verbose_name_plural = _("tariff rates")
        constraints = [models.UniqueConstraint(fields=["tariff", "basis", "key"], name="tariff_rate_once")]

    def __str__(self) -> str:
        return f"{self.basis} {self.key}: {self.amount_vnd}"


class TariffCoefficient(models.Model):
    """A multiplier by goods type (HS chapters) or by journey."""

    class Kind(models.TextChoices):
        GOODS = "goods", _("Goods type")
        JOURNEY = "journey", _("Journey")

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="coefficients")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    code = models.CharField(_("code"), max_length=40)
    description = models.CharField(_("description"), max_length=255)
    hs_chapters = models.JSONField(_("HS chapters (goods types)"), default=list, blank=True)
    direction = models.CharField(
        _("only for the direction"),
        max_length=10,
        choices=Direction.choices,
        blank=True,
        help_text=_("A goods type's coefficient for crossings in this direction only (export ore); blank: both."),
    )
    coefficient = models.DecimalField(_("coefficient"), max_digits=5, decimal_places=2)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tariff coefficient")
        verbose_name_plural = _("tariff coefficients")
        constraints = [models.UniqueConstraint(fields=["tariff", "kind", "code"], name="tariff_coefficient_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.code}: ×{self.coefficient}"


class Fee(models.Model):
    """The fee of one crossing, keeping the tariff it was issued under."""

    class Journey(models.TextChoices):
        """The journey a tariff's journey coefficient is chosen by (its coefficient's code)."""

        EXPORT = "export", _("Export")
        IMPORT_INLAND = "import_inland", _("Import for inland use")
        TEMPORARY_IMPORT_REEXPORT = "temporary_import_reexport", _("Temporary import for re-export")

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        PAID = "paid", _("Paid")
        # The crossing was cancelled: an unpaid fee is void; a paid one is owed back to the forwarder.
        VOIDED = "voided", _("Void (crossing cancelled)")
        REFUND_DUE = "refund_due", _("Refund due (crossing cancelled after payment)")

    declaration = models.OneToOneField("clearance.Declaration", on_delete=models.CASCADE, related_name="fee")
    tariff = models.ForeignKey(Tariff, on_delete=models.PROTECT)
    journey = models.CharField(_("journey"), max_length=40)
    amount_vnd = models.PositiveIntegerField(_("amount (VND)"))
    breakdown = models.JSONField(_("breakdown"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("infrastructure fee")
        verbose_name_plural = _("infrastructure fees")
        constraints = [
            models.CheckConstraint(name="fee_paid_has_time", condition=~Q(status="paid") | Q(paid_at__isnull=False))
        ]
        # The dashboard's fees collected today and this week.
        indexes = [models.Index(fields=["paid_at"], name="fee_paid_at_idx", condition=Q(status="paid"))]

    def __str__(self) -> str:
        return f"{self.amount_vnd:,} VND ({self.get_status_display()})"

    @property
    def is_paid(self) -> bool:
        return self.status == self.Status.PAID


class Payment(models.Model):
    """A payment provider's callback: accepted once per provider payment id, or rejected and kept."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    provider_payment_id = models.CharField(_("provider payment id"), max_length=100)
    # A withdrawn (amended, unpaid) fee leaves its rejected payments on record, unlinked.
    fee = models.ForeignKey(Fee, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments")
    amount_vnd = models.DecimalField(_("amount (VND)"), max_digits=15, decimal_places=0, default=Decimal(0))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-id"]
        constraints = [
            # A replayed callback can never pay twice.
            models.UniqueConstraint(
                fields=["provider_payment_id"], condition=Q(status="accepted"), name="payment_accepted_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider_payment_id}: {self.status}"
