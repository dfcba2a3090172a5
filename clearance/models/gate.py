"""The gate: barrier decisions, handovers, the infrastructure-use fee and its payments."""

from __future__ import annotations

from decimal import Decimal

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clearance.models.reference import reference_changed_trigger
from vehicles.models import Direction, GateDevice, Lane, Movement, Route, Yard

# The border-line movement that completes a crossing in each direction.
CROSSING_MOVEMENT = {Direction.EXPORT: Movement.Kind.BORDER_OUT, Direction.IMPORT: Movement.Kind.BORDER_IN}


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
        HANDOVER_PENDING = "handover_pending", _("Containers not yet handed over to this vehicle")
        HANDOVER_MISMATCH = "handover_mismatch", _("Containers handed over do not match the declaration")
        # The e-ticket scanned with the plate read (the QR code of the paid fee).
        TICKET_INVALID = "ticket_invalid", _("E-ticket not genuine (signature does not verify)")
        TICKET_NOT_FOR_VEHICLE = "ticket_not_for_vehicle", _("E-ticket of another crossing or vehicle")
        TICKET_VOID = "ticket_void", _("E-ticket void: the crossing was cancelled")
        TICKET_REPLAYED = "ticket_replayed", _("E-ticket already used for this crossing")

    class OfflineReason(models.TextChoices):
        """Why a lane's own controller held a vehicle while the centre was unreachable (uploaded later,
        beside the HoldReason codes it can also find alone: low confidence, called to another lane)."""

        NO_GATE_PASS = "no_gate_pass", _("No valid gate pass held at the lane (offline)")
        GATE_PASS_REVOKED = "gate_pass_revoked", _("Gate pass withdrawn (offline)")
        GATE_PASS_EXPIRED = "gate_pass_expired", _("Gate pass out of its validity (offline)")
        GATE_PASS_USED = "gate_pass_used", _("Gate pass already used (offline)")

    device = models.ForeignKey(GateDevice, on_delete=models.PROTECT)
    lane = models.ForeignKey(Lane, on_delete=models.PROTECT, related_name="decisions", db_index=False)  # lane_time_idx
    plate_read = models.CharField(_("plate as read"), max_length=20)
    normalized_plate = models.CharField(_("normalized plate"), max_length=20)
    confidence = models.DecimalField(_("confidence"), max_digits=4, decimal_places=3)
    read_at = models.DateTimeField(_("read at"))
    decided_at = models.DateTimeField(_("decided at"), auto_now_add=True)
    decision = models.CharField(_("decision"), max_length=4, choices=Decision.choices)
    reasons = models.JSONField(_("reasons"), default=list)
    declaration = models.ForeignKey(
        "clearance.Declaration",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="gate_decisions",
        db_index=False,  # a partial index below: an unknown plate's decisions have none
    )
    # The reference an e-ticket scanned with the read named (blank: no ticket, or one that did not verify).
    ticket_reference = models.CharField(_("e-ticket scanned"), max_length=20, blank=True, default="")

    class Meta:
        verbose_name = _("barrier decision")
        verbose_name_plural = _("barrier decisions")
        ordering = ["-id"]
        # Evidence, summed up in the lane's audit chain (services.ledger): never updated or deleted.
        triggers = [pgtrigger.Protect(name="gate_decision_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]
        indexes = [
            models.Index(fields=["lane", "-decided_at"], name="gatedecision_lane_time_idx"),
            models.Index(
                fields=["declaration"], name="gatedecision_declaration_idx", condition=Q(declaration__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plate_read} at {self.lane}: {self.decision}"


class Handover(models.Model):
    """Containers moved at a transfer point from the vehicle that brought them to the one that carries them
    on (an autonomous vehicle, another truck, or by the wharf crane), matched to the declared containers."""

    declaration = models.ForeignKey("clearance.Declaration", on_delete=models.CASCADE, related_name="handovers")
    # The leg that handed the containers over, on a crossing declared with legs.
    leg = models.ForeignKey(
        "clearance.CrossingLeg", null=True, blank=True, on_delete=models.CASCADE, related_name="handovers"
    )
    recorded_by = models.CharField(_("recorded by"), max_length=150, blank=True)
    yard = models.ForeignKey(Yard, on_delete=models.PROTECT)
    device = models.ForeignKey(GateDevice, null=True, blank=True, on_delete=models.PROTECT)
    from_plate = models.CharField(_("from vehicle"), max_length=20)
    containers = models.JSONField(_("containers transferred"), default=list)
    missing = models.JSONField(_("declared but not transferred"), default=list)
    unexpected = models.JSONField(_("transferred but not declared"), default=list)
    # The containers came from a vehicle other than the one declared for the leg ending here.
    wrong_vehicle = models.BooleanField(_("from a vehicle not declared"), default=False)
    occurred_at = models.DateTimeField(_("occurred at"))

    class Meta:
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.from_plate} → {self.declaration}"

    @property
    def matched(self) -> bool:
        return not self.missing and not self.unexpected and not self.wrong_vehicle

    def mismatch_in_words(self) -> str:
        """What did not match, in plain words (English; the code ``handover_mismatch`` is translated)."""
        parts = []
        if self.missing:
            parts.append(f"declared but not handed over: {', '.join(self.missing)}")
        if self.unexpected:
            parts.append(f"handed over but not declared: {', '.join(self.unexpected)}")
        if self.wrong_vehicle:
            parts.append(f"brought by {self.from_plate}, not by the vehicle declared for the leg")
        return (
            "The containers handed over do not match the declaration ("
            + "; ".join(parts)
            + "). The onward vehicle is held until a hand-over matches."
        )


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
        triggers = [reference_changed_trigger("tariff_changed")]
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
        # A truck going home empty, by its weight class (keys as for WEIGHT_CLASS).
        EMPTY_VEHICLE = "empty_vehicle", _("Empty vehicle, by weight class")

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
        triggers = [reference_changed_trigger("tariff_rate_changed")]
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
        triggers = [reference_changed_trigger("tariff_coefficient_changed")]
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
        EMPTY_RETURN = "empty_return", _("Empty vehicle returning")
        # Goods only transferred at the wharf, not carried inland (the crossing's legs hand over at a wharf).
        WHARF_TRANSFER = "wharf_transfer", _("Only transferred at the wharf, not carried inland")

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

    def applied_coefficients(self) -> list[dict]:
        """The coefficients the fee was computed with, read from its breakdown (a fee keeps its tariff):
        the goods type's, when a goods line matched one, and the journey's."""
        breakdown = self.breakdown or {}
        applied = []
        if breakdown.get("goods_type"):
            applied.append(
                {
                    "kind": TariffCoefficient.Kind.GOODS,
                    "code": breakdown["goods_type"],
                    "coefficient": breakdown.get("goods_coefficient"),
                    "description": breakdown.get("goods_description"),
                }
            )
        if breakdown.get("journey"):
            applied.append(
                {
                    "kind": TariffCoefficient.Kind.JOURNEY,
                    "code": breakdown["journey"],
                    "coefficient": breakdown.get("journey_coefficient"),
                    "description": breakdown.get("journey_description"),
                }
            )
        return applied


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


class GatePass(models.Model):
    """A signed gate pass: the centre's word, verifiable offline by a lane device, that this vehicle may
    pass this lane (or any lane of the route and direction) between two times. Issued when a declaration
    is cleared, called and paid; revoked when any of that stops being true before the vehicle entered."""

    declaration = models.ForeignKey("clearance.Declaration", on_delete=models.CASCADE, related_name="gate_passes")
    route = models.ForeignKey(Route, on_delete=models.PROTECT)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    lane = models.ForeignKey(
        Lane,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Blank: any lane of the route and direction."),
    )
    normalized_plate = models.CharField(_("normalized plate"), max_length=20)
    key_id = models.CharField(_("signing key id"), max_length=64)
    token = models.TextField(_("signed token"))
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    # The declaration event that withdrew it (a DeclarationEvent.Kind: cancelled, call_missed...).
    revoked_reason = models.CharField(_("revoked because"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("gate pass")
        verbose_name_plural = _("gate passes")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["declaration"], condition=Q(revoked_at__isnull=True), name="gate_pass_one_standing"
            )
        ]
        indexes = [models.Index(fields=["route", "direction", "revoked_at"], name="gatepass_route_revoked_idx")]

    def __str__(self) -> str:
        return f"{self.normalized_plate} pass #{self.id}"


class OfflineDecision(models.Model):
    """A barrier decision a lane controller took alone while the centre was unreachable, uploaded and
    reconciled afterwards (idempotent by the controller's decision id). An open applied to the record
    moves the declaration into the lane at the offline decision's time; one that could not be applied is
    a conflict for an officer to review."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", _("Applied to the record")
        RECORDED = "recorded", _("Recorded (the barrier held)")
        CONFLICT = "conflict", _("Conflict: for an officer")

    class Conflict(models.TextChoices):
        PASS_REVOKED = "pass_revoked", _("Opened on a gate pass already withdrawn")
        ALREADY_THROUGH = "already_through", _("Vehicle already entered or crossed through another lane")
        MOVED_ON = "moved_on", _("The centre moved the crossing on since (recalled, cancelled, held...)")
        PASS_INVALID = "pass_invalid", _("Opened without a genuine gate pass for this lane and vehicle")

    decision_id = models.UUIDField(_("controller's decision id"), unique=True)
    device = models.ForeignKey(GateDevice, on_delete=models.PROTECT)
    lane = models.ForeignKey(Lane, on_delete=models.PROTECT, related_name="offline_decisions")
    gate_decision = models.OneToOneField(GateDecision, on_delete=models.PROTECT, related_name="offline")
    declaration = models.ForeignKey(
        "clearance.Declaration", null=True, blank=True, on_delete=models.SET_NULL, related_name="offline_decisions"
    )
    gate_pass = models.ForeignKey(GatePass, null=True, blank=True, on_delete=models.SET_NULL)
    read_at = models.DateTimeField(_("read at (at the lane)"))
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    conflict = models.CharField(_("conflict"), max_length=20, choices=Conflict.choices, blank=True)
    conflict_detail = models.CharField(_("detail"), max_length=255, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    review_note = models.CharField(_("review note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("offline barrier decision")
        verbose_name_plural = _("offline barrier decisions")
        ordering = ["-read_at", "-id"]
        indexes = [models.Index(fields=["outcome", "reviewed_at"], name="offline_outcome_review_idx")]
        constraints = [
            models.CheckConstraint(name="offline_conflict_named", condition=~Q(outcome="conflict") | ~Q(conflict=""))
        ]

    def __str__(self) -> str:
        return f"{self.decision_id} ({self.outcome})"
