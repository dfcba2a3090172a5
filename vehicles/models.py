"""The physical world of the gate: gates, routes and lanes, yards, vehicles, drivers, movements."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey
from simple_history.models import HistoricalRecords

from vehicles.names import fold_name
from vehicles.plates import Country, normalize_plate, parse_plate

LOCAL_TZ = zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_date(moment: datetime) -> date:
    """The calendar day at the gate (Asia/Ho_Chi_Minh), whatever time zone is active for the request."""
    return moment.astimezone(LOCAL_TZ).date()


def hour_start(moment: datetime) -> datetime:
    """The start of the hour ``moment`` is in: slots, lane capacity and calls are counted per hour."""
    return moment.replace(minute=0, second=0, microsecond=0)


class Direction(models.TextChoices):
    EXPORT = "export", _("Export (Vietnam → China)")
    IMPORT = "import", _("Import (China → Vietnam)")


class BorderGate(models.Model):
    class Kind(models.TextChoices):
        INTERNATIONAL = "international", _("International")
        MAIN = "main", _("Main")
        SECONDARY = "secondary", _("Secondary")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    country = models.CharField(_("country"), max_length=2, choices=Country.CHOICES)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    counterpart = models.OneToOneField(
        "self",
        verbose_name=_("counterpart gate"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="counterpart_of",
    )
    crossing_notice_hours = models.PositiveSmallIntegerField(
        _("declaration notice (hours)"),
        default=3,
        help_text=_("How long before arrival a crossing must be declared (the border guard's rule)."),
    )

    class Meta:
        verbose_name = _("border gate")
        verbose_name_plural = _("border gates")
        ordering = ["country", "code"]

    def __str__(self) -> str:
        return f"{self.name_vi} ({self.name_en})" if self.country == Country.VN else f"{self.name_en} {self.name_zh}"


class Route(models.Model):
    """A road across the border, named by its marker pair (``1119-1120``)."""

    code = models.CharField(_("code (border markers)"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    gate = models.ForeignKey(BorderGate, verbose_name=_("gate"), on_delete=models.PROTECT, related_name="routes")
    counterpart_gate = models.ForeignKey(
        BorderGate,
        verbose_name=_("counterpart gate"),
        on_delete=models.PROTECT,
        related_name="counterpart_routes",
    )
    is_smart_gate = models.BooleanField(_("smart gate"), default=False)

    class Meta:
        verbose_name = _("route")
        verbose_name_plural = _("routes")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Lane(models.Model):
    """A one-way physical lane of a route; a reversible lane serves its current direction."""

    class Kind(models.TextChoices):
        EXPORT = "export", _("Export")
        IMPORT = "import", _("Import")
        REVERSIBLE = "reversible", _("Reversible")

    class Purpose(models.TextChoices):
        CARGO = "cargo", _("Cargo")
        EMPTY_RETURN = "empty_return", _("Empty return")
        AUTONOMOUS = "autonomous", _("Autonomous vehicles")

    route = models.ForeignKey(Route, verbose_name=_("route"), on_delete=models.PROTECT, related_name="lanes")
    code = models.CharField(_("code"), max_length=30, unique=True)
    direction = models.CharField(_("direction"), max_length=12, choices=Kind.choices)
    current_direction = models.CharField(_("current direction"), max_length=12, choices=Direction.choices)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices, default=Purpose.CARGO)
    capacity_per_hour = models.PositiveSmallIntegerField(_("capacity per hour"))
    max_vehicles_in_lane = models.PositiveSmallIntegerField(_("maximum vehicles in lane"))
    opens_at = models.TimeField(_("opens at (local time)"), null=True, blank=True)
    closes_at = models.TimeField(_("closes at (local time)"), null=True, blank=True)
    is_open = models.BooleanField(_("open"), default=True)
    has_inspection_bay = models.BooleanField(_("has an inspection bay"), default=False)
    # Smart lanes take only crossings whose goods are eligible (clearance's smart-lane goods groups);
    # traditional lanes take any.
    is_smart = models.BooleanField(
        _("smart lane"), default=False, help_text=_("Only eligible goods groups are called to a smart lane.")
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("lane")
        verbose_name_plural = _("lanes")
        ordering = ["route__code", "code"]
        constraints = [
            models.CheckConstraint(
                name="lane_fixed_direction_is_current",
                condition=Q(direction="reversible") | Q(current_direction=models.F("direction")),
            ),
            models.CheckConstraint(
                name="lane_hours_both_or_neither",
                condition=Q(opens_at__isnull=True, closes_at__isnull=True)
                | Q(opens_at__isnull=False, closes_at__isnull=False),
            ),
            models.CheckConstraint(name="lane_capacity_positive", condition=Q(capacity_per_hour__gt=0)),
            models.CheckConstraint(name="lane_max_vehicles_positive", condition=Q(max_vehicles_in_lane__gt=0)),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if self.direction != self.Kind.REVERSIBLE and self.current_direction != self.direction:
            raise ValidationError({"current_direction": _("A one-way lane's current direction is its direction.")})
        if (self.opens_at is None) != (self.closes_at is None):
            raise ValidationError(_("Give both opening and closing times, or neither for a lane open round the clock."))
        if self.opens_at is not None and self.opens_at == self.closes_at:
            raise ValidationError({"closes_at": _("Closing time equals opening time; leave both empty for 24 hours.")})

    @property
    def is_round_the_clock(self) -> bool:
        return self.opens_at is None

    def is_within_hours(self, at: datetime) -> bool:
        """Whether ``at`` falls within the operating hours, read in the gate's local time, and for an
        autonomous lane within one of its windows (``LaneWindow``: without one it never operates).

        Hours may cross midnight (22:00–06:00): then the lane operates from opening until midnight and
        from midnight until closing.
        """
        if self.purpose == self.Purpose.AUTONOMOUS and self.window_at(at) is None:
            return False
        if self.is_round_the_clock:
            return True
        return time_in_span(at.astimezone(LOCAL_TZ).time(), self.opens_at, self.closes_at)

    def window_at(self, at: datetime) -> LaneWindow | None:
        """The autonomous-operation window of this lane that ``at`` falls in, if any (one query, or none
        when the windows were prefetched)."""
        return next((window for window in self.windows.all() if window.covers(at)), None)

    def accepts_traffic(self, at: datetime | None = None) -> bool:
        return self.is_open and self.is_within_hours(at or timezone.now())


def time_in_span(local: time, start: time, end: time) -> bool:
    """Whether a local time of day falls in [start, end); a span may cross midnight (22:00–06:00)."""
    if start < end:
        return start <= local < end
    return local >= start or local < end


class LaneWindow(models.Model):
    """When an autonomous lane operates (the published night pilot: 18:30–20:00, a safety driver aboard).
    Windows are the gate management board's data, per lane; an autonomous lane with none never operates,
    and an autonomous vehicle is called to it only inside one."""

    lane = models.ForeignKey(Lane, verbose_name=_("lane"), on_delete=models.CASCADE, related_name="windows")
    starts_at = models.TimeField(_("starts at (local time)"))
    ends_at = models.TimeField(_("ends at (local time)"))
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    safety_driver_required = models.BooleanField(_("safety driver aboard"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("autonomous lane window")
        verbose_name_plural = _("autonomous lane windows")
        ordering = ["lane", "starts_at"]
        constraints = [
            models.CheckConstraint(name="lane_window_not_empty", condition=~Q(starts_at=models.F("ends_at"))),
        ]

    def __str__(self) -> str:
        return f"{self.lane_id}: {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"

    def clean(self) -> None:
        if self.lane_id and self.lane.purpose != Lane.Purpose.AUTONOMOUS:
            raise ValidationError({"lane": _("Windows are for autonomous lanes; other lanes have operating hours.")})
        if self.starts_at is not None and self.starts_at == self.ends_at:
            raise ValidationError({"ends_at": _("A window ends after it starts.")})
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("A window cannot end before it starts being valid.")})

    def covers(self, at: datetime) -> bool:
        local = at.astimezone(LOCAL_TZ)
        # A window crossing midnight belongs to the day it started on.
        day = local.date() if self.starts_at < self.ends_at or local.time() >= self.starts_at else None
        if day is None:
            day = (local - timedelta(days=1)).date()
        if (self.valid_from and day < self.valid_from) or (self.valid_to and day > self.valid_to):
            return False
        return time_in_span(local.time(), self.starts_at, self.ends_at)


class Yard(models.Model):
    """A waiting yard near a gate where vehicles queue before being called to a lane, or a transfer point
    (a transfer yard or a wharf) where containers change vehicle between the legs of a crossing."""

    class Kind(models.TextChoices):
        WAITING = "waiting", _("Waiting yard")
        TRANSFER_YARD = "transfer_yard", _("Transfer yard")
        WHARF = "wharf", _("Transfer wharf")

    TRANSFER_POINTS = (Kind.TRANSFER_YARD, Kind.WHARF)

    code = models.SlugField(_("code"), max_length=40, unique=True)
    gate = models.ForeignKey(BorderGate, verbose_name=_("gate"), on_delete=models.PROTECT, related_name="yards")
    route = models.ForeignKey(
        Route,
        verbose_name=_("route served"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="yards",
    )
    name = models.CharField(_("name"), max_length=200)
    capacity = models.PositiveIntegerField(_("capacity (vehicles)"))
    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices, default=Kind.WAITING)

    class Meta:
        verbose_name = _("yard")
        verbose_name_plural = _("yards")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class PlatedQuerySet(models.QuerySet):
    def with_plate(self, text: str) -> PlatedQuerySet:
        """Rows whose plate matches ``text`` written in any form (``12C-123.45``, ``12c12345``)."""
        return self.filter(normalized_plate=normalize_plate(text))


class PlatedModel(models.Model):
    """A registered plate: the canonical display form and the normalized form used for matching."""

    is_trailer = False

    country = models.CharField(_("country"), max_length=2, choices=Country.CHOICES)
    plate = models.CharField(_("plate"), max_length=20)
    normalized_plate = models.CharField(_("normalized plate"), max_length=20, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PlatedQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.plate} ({self.country})"

    def clean(self) -> None:
        parsed = parse_plate(self.plate, country=self.country, trailer=self.is_trailer)
        self.plate, self.normalized_plate = parsed.display, parsed.normalized


class Vehicle(PlatedModel):
    class Class(models.TextChoices):
        RIGID_TRUCK = "rigid_truck", _("Rigid truck")
        TRACTOR = "tractor", _("Tractor unit (with semi-trailer)")
        VAN = "van", _("Van")
        SPECIAL = "special", _("Special vehicle")

    vehicle_class = models.CharField(_("class"), max_length=20, choices=Class.choices, default=Class.RIGID_TRUCK)
    max_gross_weight_kg = models.PositiveIntegerField(_("maximum gross weight (kg)"))
    tare_weight_kg = models.PositiveIntegerField(_("tare weight (kg)"), null=True, blank=True)
    permit_number = models.CharField(_("cross-border permit number"), max_length=40, blank=True)
    permit_expires = models.DateField(_("permit expires"), null=True, blank=True)
    is_autonomous = models.BooleanField(_("autonomous"), default=False)

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        constraints = [
            models.UniqueConstraint(fields=["country", "normalized_plate"], name="vehicle_unique_plate_per_country"),
        ]
        indexes = [models.Index(fields=["normalized_plate"], name="vehicle_normalized_plate_idx")]


class Trailer(PlatedModel):
    is_trailer = True

    class Meta:
        verbose_name = _("trailer")
        verbose_name_plural = _("trailers")
        constraints = [
            models.UniqueConstraint(fields=["country", "normalized_plate"], name="trailer_unique_plate_per_country"),
        ]
        indexes = [models.Index(fields=["normalized_plate"], name="trailer_normalized_plate_idx")]


class Driver(models.Model):
    class DocumentType(models.TextChoices):
        PASSPORT = "passport", _("Passport")
        BORDER_PASS = "border_pass", _("Border pass")

    full_name = models.CharField(_("full name (as written)"), max_length=150)
    name_key = models.CharField(_("name for matching"), max_length=150, editable=False, db_index=True)
    nationality = models.CharField(_("nationality"), max_length=2)
    document_type = models.CharField(_("document type"), max_length=20, choices=DocumentType.choices)
    document_number = models.CharField(_("document number"), max_length=30)
    document_country = models.CharField(_("issuing country"), max_length=2)
    document_expires = models.DateField(_("document expires"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("driver")
        verbose_name_plural = _("drivers")
        constraints = [
            models.UniqueConstraint(
                fields=["document_country", "document_type", "document_number"],
                name="driver_unique_document",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.document_number})"

    def clean(self) -> None:
        self.name_key = fold_name(self.full_name)[:150]

    def save(self, *args, **kwargs) -> None:
        # The matching key is derived data; keep it in step with the name on every write path. Folding
        # may lengthen a name (ß → ss), so it is cut to the column as the watchlist's key is.
        self.name_key = fold_name(self.full_name)[:150]
        super().save(*args, **kwargs)


class DriverName(models.Model):
    """Every name an identity document has been declared with. The watchlist matches them all, so a
    document declared once under a harmless name and once under a listed one is caught either way."""

    driver = models.ForeignKey(Driver, on_delete=models.CASCADE, related_name="names")
    full_name = models.CharField(_("full name (as written)"), max_length=150)
    name_key = models.CharField(_("name for matching"), max_length=150, db_index=True)
    first_declared_at = models.DateTimeField(_("first declared at"), auto_now_add=True)

    class Meta:
        verbose_name = _("driver name")
        verbose_name_plural = _("driver names")
        constraints = [models.UniqueConstraint(fields=["driver", "name_key"], name="driver_name_once")]

    def __str__(self) -> str:
        return self.full_name


class RegistryFact(models.Model):
    """A change to the shared registry of vehicles, trailers and drivers, with its source. The registry is
    memory, not the record: a declaration keeps what was declared for it, whatever is registered later."""

    class Subject(models.TextChoices):
        VEHICLE = "vehicle", _("Vehicle")
        TRAILER = "trailer", _("Trailer")
        DRIVER = "driver", _("Driver")

    subject = models.CharField(_("subject"), max_length=10, choices=Subject.choices)
    subject_id = models.BigIntegerField(_("subject id"))
    changes = models.JSONField(_("changes (field: [before, after])"), default=dict)
    source = models.CharField(_("source"), max_length=200)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("registry fact")
        verbose_name_plural = _("registry facts")
        ordering = ["-id"]
        indexes = [models.Index(fields=["subject", "subject_id", "-id"], name="registryfact_subject_idx")]

    def __str__(self) -> str:
        return f"{self.subject} {self.subject_id}: {', '.join(self.changes)}"


class Movement(models.Model):
    """An append-only fact: a vehicle seen at a yard gate, lane, border line or weighbridge."""

    class Kind(models.TextChoices):
        YARD_IN = "yard_in", _("Entered yard")
        YARD_OUT = "yard_out", _("Left yard")
        LANE_IN = "lane_in", _("Entered lane")
        BORDER_OUT = "border_out", _("Crossed border outbound (export)")
        BORDER_IN = "border_in", _("Crossed border inbound (import)")
        WEIGHBRIDGE = "weighbridge", _("Weighed")

    YARD_KINDS = {Kind.YARD_IN, Kind.YARD_OUT}

    plate_read = models.CharField(_("plate as read"), max_length=20)
    normalized_plate = models.CharField(_("normalized plate"), max_length=20)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    # Each movement is at a yard or at a lane, not both: each is indexed where it is set (partial indexes in
    # Meta), so a movement writes one of the two.
    yard = models.ForeignKey(
        Yard, verbose_name=_("yard"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    lane = models.ForeignKey(
        Lane, verbose_name=_("lane"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    source = models.CharField(_("source"), max_length=80, help_text=_("The device or officer that reported it."))
    gross_weight_kg = models.PositiveIntegerField(_("measured gross weight (kg)"), null=True, blank=True)

    class Meta:
        verbose_name = _("movement")
        verbose_name_plural = _("movements")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="movement_at_one_place",
                condition=Q(yard__isnull=False, lane__isnull=True) | Q(yard__isnull=True, lane__isnull=False),
            ),
            models.CheckConstraint(
                name="movement_yard_kinds_at_yard",
                condition=~Q(kind__in=["yard_in", "yard_out"]) | Q(yard__isnull=False),
            ),
            models.CheckConstraint(
                name="movement_weight_only_from_weighbridge",
                condition=Q(kind="weighbridge", gross_weight_kg__isnull=False)
                | (~Q(kind="weighbridge") & Q(gross_weight_kg__isnull=True)),
            ),
        ]
        indexes = [
            models.Index(fields=["normalized_plate", "-occurred_at"], name="movement_plate_time_idx"),
            models.Index(fields=["yard"], name="movement_yard_idx", condition=Q(yard__isnull=False)),
            models.Index(fields=["lane"], name="movement_lane_idx", condition=Q(lane__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.plate_read} {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValidationError(_("Movements are facts: they are recorded once and never changed."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Movements are facts: they are never deleted."))


class GateDevice(models.Model):
    """A camera, barrier or weighbridge at one lane or yard; it acts only there."""

    class Kind(models.TextChoices):
        LANE_GATE = "lane_gate", _("Lane gate (plate camera and barrier)")
        YARD_GATE = "yard_gate", _("Yard gate camera")
        BORDER_LINE = "border_line", _("Border line camera")
        WEIGHBRIDGE = "weighbridge", _("Weighbridge")

    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    lane = models.ForeignKey(
        Lane, verbose_name=_("lane"), null=True, blank=True, on_delete=models.PROTECT, related_name="devices"
    )
    yard = models.ForeignKey(
        Yard, verbose_name=_("yard"), null=True, blank=True, on_delete=models.PROTECT, related_name="devices"
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("gate device")
        verbose_name_plural = _("gate devices")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                name="device_at_one_place",
                condition=Q(lane__isnull=False, yard__isnull=True) | Q(lane__isnull=True, yard__isnull=False),
            ),
            models.CheckConstraint(
                name="device_kind_matches_place",
                condition=Q(kind__in=["lane_gate", "border_line"], lane__isnull=False)
                | Q(kind="yard_gate", yard__isnull=False)
                | Q(kind="weighbridge"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()} at {self.lane or self.yard})"

    @property
    def source(self) -> str:
        return f"device:{self.pk}:{self.name}"[:80]  # Movement.source holds 80 characters


class DeviceAPIKey(AbstractAPIKey):
    """A device's credential: hashed like forwarders' keys, but a separate table, so one can never be
    used as the other."""

    device = models.ForeignKey(GateDevice, verbose_name=_("device"), on_delete=models.CASCADE, related_name="api_keys")

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("device API key")
        verbose_name_plural = _("device API keys")
