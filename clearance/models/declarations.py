"""The legal world: companies and their API keys, declarations (one crossing each), the audit trail."""

from __future__ import annotations

from datetime import date

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey
from simple_history.models import HistoricalRecords

from vehicles.models import Direction, Driver, Lane, Route, Trailer, Vehicle, Yard


class DeclarationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    CHECKING = "checking", _("Checking")
    INSPECTION = "inspection", _("Inspection")
    CLEARED = "cleared", _("Cleared")
    HELD = "held", _("Held")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class DeclarationStage(models.TextChoices):
    EXPECTED = "expected", _("Expected")
    IN_YARD = "in_yard", _("In yard")
    CALLED = "called", _("Called to a lane")
    IN_LANE = "in_lane", _("In lane")
    CROSSED = "crossed", _("Crossed")
    TURNED_BACK = "turned_back", _("Turned back")


# A declaration is active (holds its vehicle and its customs numbers) until it has crossed, turned back
# or been cancelled.
ACTIVE_DECLARATION = ~Q(status=DeclarationStatus.CANCELLED) & ~Q(
    stage__in=[DeclarationStage.CROSSED, DeclarationStage.TURNED_BACK]
)

# The queue class orders a yard's queue: 0 is served first. Each bit set is a reason to wait longer.
QUEUE_NOT_PERISHABLE = 4
QUEUE_NOT_PRIORITY = 2
QUEUE_NOT_ON_TIME = 1
QUEUE_REGULAR = QUEUE_NOT_PERISHABLE | QUEUE_NOT_PRIORITY | QUEUE_NOT_ON_TIME


def queue_class_of(*, perishable: bool, priority: bool, on_time: bool) -> int:
    return (
        (0 if perishable else QUEUE_NOT_PERISHABLE)
        + (0 if priority else QUEUE_NOT_PRIORITY)
        + (0 if on_time else QUEUE_NOT_ON_TIME)
    )


class HandoverStatus(models.TextChoices):
    """Whether a crossing's containers reached the vehicle that carries them across (crossing legs)."""

    NONE = "", _("One vehicle throughout")
    AWAITING = "awaiting", _("Awaiting the hand-over at the transfer point")
    MATCHED = "matched", _("Containers handed over as declared")
    MISMATCH = "mismatch", _("Held: the containers handed over do not match the declaration")


# The onward vehicle is not called, and the barrier holds it, until its containers are handed over as declared.
HANDOVER_HOLDS = (HandoverStatus.AWAITING, HandoverStatus.MISMATCH)


class TransitionNotAllowed(Exception):
    def __init__(self, *, field: str, current: str, target: str):
        self.field, self.current, self.target = field, current, target
        super().__init__(f"{field} cannot go from {current} to {target}")


class Company(models.Model):
    class Rating(models.TextChoices):
        NORMAL = "normal", _("Normal")
        PRIORITY = "priority", _("Priority (AEO)")
        UNDER_WATCH = "under_watch", _("Under watch")

    tax_code = models.CharField(_("tax code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=255)
    country = models.CharField(_("country"), max_length=2, default="VN")
    compliance_rating = models.CharField(
        _("compliance rating"), max_length=20, choices=Rating.choices, default=Rating.NORMAL
    )
    no_shows = models.PositiveIntegerField(_("slot no-shows"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.tax_code})"


class CompanyAPIKey(AbstractAPIKey):
    """A forwarder system's key: stored hashed, shown once, revocable in the admin."""

    company = models.ForeignKey(Company, verbose_name=_("company"), on_delete=models.CASCADE, related_name="api_keys")

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("company API key")
        verbose_name_plural = _("company API keys")


class Declaration(models.Model):
    """One vehicle crossing once, in one direction, on one route."""

    Status = DeclarationStatus
    Stage = DeclarationStage
    HandoverStatus = HandoverStatus

    class Kind(models.TextChoices):
        CARGO = "cargo", _("Cargo")
        # A truck going home empty: no goods, no customs declaration; the border guard (and the health
        # force in an epidemic period) check it, and it pays the empty-vehicle fee.
        EMPTY_RETURN = "empty_return", _("Empty return")

    class Channel(models.TextChoices):
        """The customs channel the risk check answered: the customs check's outcome of the same name."""

        GREEN = "green", _("Green")
        YELLOW = "yellow", _("Yellow")
        RED = "red", _("Red")

    # The clearance state machine (DESIGN.md). An amendment sends a declaration back to SUBMITTED.
    TRANSITIONS = {
        Status.SUBMITTED: {Status.CHECKING, Status.CANCELLED},
        Status.CHECKING: {Status.CLEARED, Status.INSPECTION, Status.REJECTED, Status.CANCELLED, Status.SUBMITTED},
        Status.INSPECTION: {Status.CLEARED, Status.HELD, Status.CANCELLED, Status.SUBMITTED},
        # A cleared vehicle whose weight disagrees with its declaration goes back to inspection; one in a
        # lane whose customs declaration changed is held for an officer.
        Status.CLEARED: {Status.CANCELLED, Status.SUBMITTED, Status.INSPECTION, Status.HELD},
        Status.REJECTED: {Status.CANCELLED, Status.SUBMITTED},
        Status.HELD: {Status.CLEARED, Status.REJECTED},
        Status.CANCELLED: set(),
    }
    STAGE_TRANSITIONS = {
        Stage.EXPECTED: {Stage.IN_YARD, Stage.CALLED, Stage.IN_LANE, Stage.TURNED_BACK},
        Stage.IN_YARD: {Stage.CALLED, Stage.TURNED_BACK},
        Stage.CALLED: {Stage.IN_LANE, Stage.IN_YARD, Stage.TURNED_BACK},
        Stage.IN_LANE: {Stage.CROSSED, Stage.TURNED_BACK},
        Stage.CROSSED: set(),
        Stage.TURNED_BACK: set(),
    }
    # Until the vehicle enters a lane the forwarder may still amend or cancel.
    BEFORE_LANE = {Stage.EXPECTED, Stage.IN_YARD, Stage.CALLED}
    # What a forwarder may amend (before the lane): every status but a cancelled or held crossing, which
    # only an officer moves on.
    AMENDABLE_STATUSES = {Status.SUBMITTED, Status.CHECKING, Status.INSPECTION, Status.CLEARED, Status.REJECTED}
    AMENDABLE_FIELDS = (
        "expected_arrival",
        "vehicle",
        "trailer",
        "driver",
        "containers",
        "goods",
        "customs_declarations",
        "quarantine_certificates",
        "health_declaration",
    )

    reference = models.CharField(_("reference"), max_length=20, unique=True, null=True, editable=False)
    # Foreign keys without an index of their own where one of Meta.indexes leads with them, and with a
    # partial one where most rows have none: each index is written on every stage change (a stage is
    # indexed, so no update of it is HOT), and a gate open spent more of its PostgreSQL time on them than
    # on anything else.
    company = models.ForeignKey(
        Company, verbose_name=_("company"), on_delete=models.PROTECT, related_name="declarations", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.CARGO)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    route = models.ForeignKey(
        Route, verbose_name=_("route"), on_delete=models.PROTECT, related_name="declarations", db_index=False
    )
    expected_arrival = models.DateTimeField(_("expected arrival"))
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="declarations"
    )
    trailer = models.ForeignKey(
        Trailer,
        verbose_name=_("trailer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="declarations",
        db_index=False,
    )
    driver = models.ForeignKey(Driver, verbose_name=_("driver"), on_delete=models.PROTECT, related_name="declarations")
    # What was declared for this crossing (vehicle, trailer, driver), as its company declared or amended
    # it. The registry rows above are shared memory; another company declaring the same plate or document
    # updates them, never this.
    declared = models.JSONField(_("as declared"), default=dict, editable=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices, default=Stage.EXPECTED)
    version = models.PositiveIntegerField(_("version"), default=1)
    needs_quarantine = models.BooleanField(_("needs quarantine"), default=False)
    # The driver's and crew's health declaration (required in an epidemic period; see
    # clearance.api.serializers.parts.HealthDeclarationInput for its fields).
    health_declaration = models.JSONField(_("health declaration"), null=True, blank=True)
    # Whether the goods may use a smart lane (clearance.services.eligibility), set when declared or amended
    # and again on arrival; the reason is shown to the forwarder when not.
    smart_lane_eligible = models.BooleanField(_("may use a smart lane"), default=True)
    smart_lane_reason = models.CharField(_("why not a smart lane"), max_length=500, blank=True)
    channel = models.CharField(
        _("customs channel"),
        max_length=6,
        blank=True,
        choices=Channel.choices,
    )
    lane = models.ForeignKey(
        Lane,
        verbose_name=_("lane"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="declarations",
        db_index=False,
    )
    # The queue: where the vehicle waits and in which order (lower class first, then arrival time).
    slot = models.ForeignKey(
        "clearance.ArrivalSlot",
        verbose_name=_("arrival slot"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="declarations",
        db_index=False,
    )
    slot_moves = models.PositiveSmallIntegerField(_("slot moves"), default=0)
    # Every booking counts, so releasing and booking again is a move too (the move limit cannot be dodged).
    slot_bookings = models.PositiveSmallIntegerField(_("slot bookings"), default=0, editable=False)
    yard = models.ForeignKey(
        Yard,
        verbose_name=_("yard"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="declarations",
        db_index=False,
    )
    queue_class = models.PositiveSmallIntegerField(
        _("queue class"),
        default=QUEUE_REGULAR,
        help_text=_("0 is served first: +4 if not perishable, +2 if not a priority company, +1 if not on time."),
    )
    arrived_at = models.DateTimeField(_("arrived in yard at"), null=True, blank=True)
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    # A vehicle that reached the yard before its pre-arrival notice had run waits until then, unless an
    # officer waives the hold (lifecycle.arrival_hold_waived); the dispatcher does not call it before.
    arrival_held_until = models.DateTimeField(_("held in the yard until"), null=True, blank=True)
    in_lane_at = models.DateTimeField(_("entered lane at"), null=True, blank=True)
    crossed_at = models.DateTimeField(_("crossed at"), null=True, blank=True)
    call_misses = models.PositiveSmallIntegerField(_("missed calls"), default=0)
    # A crossing of several legs (CrossingLeg): its onward vehicle waits for the containers handed over.
    handover_status = models.CharField(
        _("hand-over"), max_length=10, choices=HandoverStatus.choices, blank=True, default=HandoverStatus.NONE
    )
    # The head of the audit trail's hash chain, kept on the row the lifecycle holds locked anyway, so an
    # append reads nothing more (and removing the last event is seen: the head no longer matches).
    audit_seq = models.PositiveIntegerField(_("audit events"), default=0, editable=False)
    audit_head = models.CharField(_("audit chain head"), max_length=64, blank=True, editable=False)
    # The forwarder's events of this declaration (clearance.models.events.CompanyEvent): 1, 2, 3… with no gap.
    event_seq = models.PositiveIntegerField(_("forwarder events"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("declaration")
        verbose_name_plural = _("declarations")
        ordering = ["-id"]
        constraints = [
            # One active crossing per vehicle; the service reports a clash by the first one's reference.
            models.UniqueConstraint(
                fields=["vehicle"], condition=ACTIVE_DECLARATION, name="declaration_one_active_per_vehicle"
            ),
        ]
        indexes = [
            # Forwarders' lists: their company, newest first, keyset-paginated by id.
            models.Index(fields=["company", "-id"], name="declaration_company_id_idx"),
            models.Index(fields=["company", "status", "-id"], name="declaration_company_status_idx"),
            # The list filtered by everything it offers (status, stage, route, direction; created_after and
            # _before read along it), and by stage alone ("my trucks in the yard"): still newest first.
            models.Index(
                fields=["company", "status", "stage", "route", "direction", "-id"],
                name="declaration_company_filter_idx",
            ),
            models.Index(fields=["company", "stage", "-id"], name="declaration_company_stage_idx"),
            models.Index(fields=["route", "direction", "stage", "status"], name="declaration_route_stage_idx"),
            # The yard queue in call order.
            models.Index(
                fields=["route", "direction", "queue_class", "arrived_at", "id"],
                name="declaration_queue_idx",
                condition=Q(stage=DeclarationStage.IN_YARD),
            ),
            models.Index(fields=["lane", "stage"], name="declaration_lane_stage_idx"),
            # The public load view and the dashboard count from these, never by reading the whole table:
            # the vehicles at the gate (a few hundred rows of millions), crossings and declarations by time.
            models.Index(
                fields=["route", "direction", "stage"],
                name="declaration_at_gate_idx",
                condition=Q(stage__in=[DeclarationStage.IN_YARD, DeclarationStage.CALLED, DeclarationStage.IN_LANE]),
            ),
            models.Index(fields=["crossed_at"], name="declaration_crossed_idx", condition=Q(crossed_at__isnull=False)),
            models.Index(fields=["created_at"], name="declaration_created_idx"),
            # The foreign keys most rows leave empty (see company above).
            models.Index(fields=["trailer"], name="declaration_trailer_idx", condition=Q(trailer__isnull=False)),
            models.Index(fields=["slot"], name="declaration_slot_idx", condition=Q(slot__isnull=False)),
            models.Index(fields=["yard"], name="declaration_yard_idx", condition=Q(yard__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.reference or f"declaration {self.pk}"

    def transition(self, *, to: str) -> None:
        if to not in self.TRANSITIONS[self.status]:
            raise TransitionNotAllowed(field="status", current=self.status, target=to)
        self.status = to

    def move_to_stage(self, *, to: str) -> None:
        if to not in self.STAGE_TRANSITIONS[self.stage]:
            raise TransitionNotAllowed(field="stage", current=self.stage, target=to)
        self.stage = to

    @property
    def is_empty_return(self) -> bool:
        return self.kind == self.Kind.EMPTY_RETURN

    @property
    def is_waiting(self) -> bool:
        return self.stage == self.Stage.IN_YARD

    @property
    def is_held_after_early_arrival(self) -> bool:
        """Waiting in the yard before its pre-arrival notice has run, and not waived."""
        return self.arrival_held_until is not None and self.arrival_held_until > timezone.now()

    @property
    def is_before_lane(self) -> bool:
        return self.stage in self.BEFORE_LANE

    @property
    def is_amendable(self) -> bool:
        return self.is_before_lane and self.status in self.AMENDABLE_STATUSES

    @property
    def is_perishable_in_queue(self) -> bool:
        return not self.queue_class & QUEUE_NOT_PERISHABLE

    @property
    def is_priority_in_queue(self) -> bool:
        return not self.queue_class & QUEUE_NOT_PRIORITY

    @property
    def is_on_time_in_queue(self) -> bool:
        return not self.queue_class & QUEUE_NOT_ON_TIME

    def dwell_times(self) -> dict:
        """Minutes spent between the stages so far (declared → arrived → called → in lane → crossed)."""
        stamps = [
            ("declared", self.created_at),
            ("arrived", self.arrived_at),
            ("called", self.called_at),
            ("in_lane", self.in_lane_at),
            ("crossed", self.crossed_at),
        ]
        known = [(name, at) for name, at in stamps if at is not None]
        return {
            f"{a}_to_{b}": round((tb - ta).total_seconds() / 60, 1)
            for (a, ta), (b, tb) in zip(known, known[1:], strict=False)
        }

    # The fields of each party a declaration keeps as declared.
    DECLARED_FIELDS = {
        "vehicle": (
            "plate",
            "normalized_plate",
            "country",
            "vehicle_class",
            "max_gross_weight_kg",
            "permit_number",
            "permit_expires",
            "is_autonomous",
        ),
        "trailer": ("plate", "normalized_plate", "country"),
        "driver": (
            "full_name",
            "name_key",
            "nationality",
            "document_type",
            "document_number",
            "document_country",
            "document_expires",
        ),
    }
    DECLARED_DATES = {"permit_expires", "document_expires"}

    def declare_parties(self, **parties) -> None:
        """Keep the parties given (registry rows just brought up to what is being declared) as this
        declaration's own copy; a party given as None is removed (a trailer dropped)."""
        declared = dict(self.declared or {})
        for name, row in parties.items():
            if row is None:
                declared.pop(name, None)
                continue
            values = {field: getattr(row, field) for field in self.DECLARED_FIELDS[name]}
            declared[name] = {
                field: value.isoformat() if field in self.DECLARED_DATES and value else value
                for field, value in values.items()
            }
        self.declared = declared

    def _declared(self, name: str, model):
        values = (self.declared or {}).get(name)
        if values is None:
            return None
        fields = {
            field: date.fromisoformat(value) if field in self.DECLARED_DATES and value else value
            for field, value in values.items()
        }
        # An unsaved instance carrying the declared values (and the registry row's id), so serializers
        # and engines read it like the row; what only the registry knows (a tare weighed) stays there.
        return model(id=getattr(self, f"{name}_id"), **fields)

    @property
    def declared_vehicle(self) -> Vehicle:
        """The vehicle as declared (its tare, weighed, is the registry's: ``declaration.vehicle``)."""
        return self._declared("vehicle", Vehicle)

    @property
    def declared_trailer(self) -> Trailer | None:
        return self._declared("trailer", Trailer)

    @property
    def declared_driver(self) -> Driver:
        return self._declared("driver", Driver)

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


class CustomsDeclaration(models.Model):
    """A VNACCS customs declaration number carried by a crossing."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="customs_declarations")
    number = models.CharField(_("number"), max_length=12)
    type = models.CharField(_("type"), max_length=3)
    # Mirrors the crossing's activity so the database can refuse one number on two active crossings.
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("customs declaration")
        verbose_name_plural = _("customs declarations")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=Q(is_active=True), name="customs_number_on_one_active_crossing"
            ),
        ]
        indexes = [models.Index(fields=["number"], name="customs_number_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.number}"


class Container(models.Model):
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="containers")
    number = models.CharField(_("number"), max_length=11)
    size = models.CharField(_("size (ft)"), max_length=2)
    seals = models.JSONField(_("seals"), default=list)
    # Mirrors the crossing's activity so the database can refuse one container on two active crossings.
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("container")
        verbose_name_plural = _("containers")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "number"], name="container_once_per_declaration"),
            models.UniqueConstraint(
                fields=["number"], condition=Q(is_active=True), name="container_on_one_active_crossing"
            ),
        ]
        indexes = [models.Index(fields=["number"], name="container_number_idx")]

    def __str__(self) -> str:
        return self.number


class GoodsLine(models.Model):
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="goods")
    hs_code = models.CharField(_("HS code"), max_length=10)
    description = models.CharField(_("description"), max_length=500)
    quantity = models.DecimalField(_("quantity"), max_digits=15, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=10)
    gross_weight_kg = models.DecimalField(_("gross weight (kg)"), max_digits=12, decimal_places=3)
    value = models.DecimalField(_("value"), max_digits=17, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    origin_country = models.CharField(_("origin country"), max_length=2)

    class Meta:
        verbose_name = _("goods line")
        verbose_name_plural = _("goods lines")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.hs_code} {self.description}"

    @property
    def hs_chapter(self) -> int:
        return int(self.hs_code[:2])


class QuarantineCertificate(models.Model):
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="quarantine_certificates")
    number = models.CharField(_("number"), max_length=40)
    issued_on = models.DateField(_("issued on"))
    expires_on = models.DateField(_("expires on"))

    class Meta:
        verbose_name = _("quarantine certificate")
        verbose_name_plural = _("quarantine certificates")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.number


class DeclarationEvent(models.Model):
    """The audit trail: who did what to a declaration, when and why. Append-only."""

    class ActorKind(models.TextChoices):
        API_KEY = "api_key", _("API client")
        USER = "user", _("Officer")
        DEVICE = "device", _("Device")
        SYSTEM = "system", _("System")

    class Kind(models.TextChoices):
        """Every event of a declaration's audit trail; written only by clearance.services.lifecycle."""

        SUBMITTED = "submitted", _("Submitted")
        CHECKS_STARTED = "checks_started", _("Checks started")
        CHECK_STARTED = "check_started", _("Check started")
        CHECK_FINISHED = "check_finished", _("Check finished")
        CHECK_FAILED = "check_failed", _("Check failed")
        CLEARED = "cleared", _("Cleared")
        INSPECTION_REQUIRED = "inspection_required", _("Inspection required")
        INSPECTION_PASSED = "inspection_passed", _("Inspection passed")
        INSPECTION_FAILED = "inspection_failed", _("Inspection failed")
        HELD = "held", _("Held")
        REJECTED = "rejected", _("Rejected")
        AMENDED = "amended", _("Amended")
        CANCELLED = "cancelled", _("Cancelled")
        SLOT_BOOKED = "slot_booked", _("Slot booked")
        SLOT_MOVED = "slot_moved", _("Slot moved")
        SLOT_RELEASED = "slot_released", _("Slot released")
        SLOT_NO_SHOW = "slot_no_show", _("Slot missed (no-show)")
        ARRIVED_IN_YARD = "arrived_in_yard", _("Arrived in yard")
        ARRIVAL_HELD = "arrival_held", _("Held: arrived before the pre-arrival notice had run")
        ARRIVAL_HOLD_WAIVED = "arrival_hold_waived", _("Early-arrival hold waived")
        CALLED = "called", _("Called to a lane")
        CALL_MISSED = "call_missed", _("Call missed")
        CALL_WITHDRAWN = "call_withdrawn", _("Call withdrawn (lane closed)")
        TURNED_BACK = "turned_back", _("Turned back")
        ENTERED_LANE = "entered_lane", _("Entered lane")
        CROSSED = "crossed", _("Crossed")
        WEIGHED = "weighed", _("Weighed")
        HANDOVER = "handover", _("Containers handed over")
        LEG_ARRIVED = "leg_arrived", _("A leg's vehicle arrived at the transfer point")
        HANDOVER_MISMATCH = "handover_mismatch", _("Held: the containers handed over do not match")
        FEE_ISSUED = "fee_issued", _("Fee issued")
        FEE_PAID = "fee_paid", _("Fee paid")
        CUSTOMS_CHANGED = "customs_changed", _("Customs declaration changed (re-check)")

    # Evidence: rows are never updated or deleted (PostgreSQL triggers refuse it), so neither the
    # declaration nor the officer named may be deleted while their events exist.
    # Indexed by event_declaration_idx and event_once_per_seq; the user, by a partial index (most events are
    # a device's, a worker's or a forwarder's system's).
    declaration = models.ForeignKey(Declaration, on_delete=models.PROTECT, related_name="events", db_index=False)
    at = models.DateTimeField(_("at"))
    actor_kind = models.CharField(_("actor kind"), max_length=10, choices=ActorKind.choices)
    actor = models.CharField(_("actor"), max_length=150)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, db_index=False)
    event = models.CharField(_("event"), max_length=40, choices=Kind.choices)
    reason = models.TextField(_("reason"), blank=True)
    version = models.PositiveIntegerField(_("version"))
    data = models.JSONField(_("data"), default=dict, blank=True)
    # The hash chain of the declaration's trail (clearance/audit_chain.py): 1, 2, 3… per declaration.
    seq = models.PositiveIntegerField(_("sequence in the declaration's trail"))
    prev_hash = models.CharField(_("previous event's hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        verbose_name = _("declaration event")
        verbose_name_plural = _("declaration events")
        ordering = ["id"]
        constraints = [
            # Two appends racing on one chain cannot both win: the second fails instead of forking it.
            models.UniqueConstraint(fields=["declaration", "seq"], name="event_once_per_seq"),
        ]
        indexes = [
            models.Index(fields=["declaration", "id"], name="event_declaration_idx"),
            # The dashboard's declared → cleared times of the week.
            models.Index(fields=["at"], name="event_cleared_at_idx", condition=Q(event="cleared")),
            models.Index(fields=["user"], name="event_user_idx", condition=Q(user__isnull=False)),
        ]
        triggers = [
            pgtrigger.Protect(name="declaration_event_append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.event} by {self.actor}"


class IdempotencyRecord(models.Model):
    """The first response to a create-type POST, replayed for the same company, key and body."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    path = models.CharField(max_length=255)
    is_complete = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "key"], name="idempotency_key_once_per_company"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.company_id}:{self.key}"
