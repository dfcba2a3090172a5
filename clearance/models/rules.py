"""The rules the checks apply: data officers edit, never constants in code."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clearance.models.declarations import Company, Declaration
from clearance.models.reference import reference_changed_trigger
from vehicles.names import fold_name
from vehicles.plates import normalize_plate

_PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


class RiskSettings(models.Model):
    """The customs risk engine's weights and thresholds: one row, edited by customs supervisors."""

    yellow_threshold = models.PositiveSmallIntegerField(_("score for yellow channel"), default=30)
    red_threshold = models.PositiveSmallIntegerField(_("score for red channel"), default=60)
    under_watch_weight = models.SmallIntegerField(_("weight: company under watch"), default=40)
    priority_weight = models.SmallIntegerField(_("weight: priority (AEO) company"), default=-20)
    violation_weight = models.SmallIntegerField(_("weight per recent violation"), default=15)
    violation_window_days = models.PositiveSmallIntegerField(_("recent violations: days"), default=365)
    undervaluation_ratio = models.DecimalField(
        _("undervaluation below this share of the reference price"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.50"),
    )
    undervaluation_weight = models.SmallIntegerField(_("weight: undervaluation"), default=35)
    overweight_weight = models.SmallIntegerField(_("weight: over the vehicle's maximum"), default=40)
    unsealed_container_weight = models.SmallIntegerField(_("weight: container without seals"), default=30)
    random_rate_percent = models.DecimalField(
        _("random selection rate (%)"), max_digits=5, decimal_places=2, default=Decimal("5.00"), validators=_PERCENT
    )
    random_rate_priority_percent = models.DecimalField(
        _("random selection rate for priority companies (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=_PERCENT,
    )
    random_rate_floor_percent = models.DecimalField(
        _("random selection floor (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.50"),
        validators=_PERCENT,
        help_text=_("No company, however trusted, is selected less often than this."),
    )
    random_channel = models.CharField(
        _("channel for random selection"),
        max_length=6,
        # A random selection raises the channel to review or to inspection; green would select nothing.
        choices=[(channel.value, channel.label) for channel in (Declaration.Channel.YELLOW, Declaration.Channel.RED)],
        default=Declaration.Channel.YELLOW,
    )

    history = HistoricalRecords()

    class Meta:
        triggers = [reference_changed_trigger("risk_settings_changed")]
        verbose_name = _("customs risk settings")
        verbose_name_plural = _("customs risk settings")

    def __str__(self) -> str:
        return str(_("Customs risk settings"))

    @classmethod
    def current(cls) -> RiskSettings:
        settings_row = cls.objects.order_by("id").first()
        return settings_row or cls.objects.create()

    def random_rate_for(self, rating: str) -> Decimal:
        rate = self.random_rate_priority_percent if rating == Company.Rating.PRIORITY else self.random_rate_percent
        return max(rate, self.random_rate_floor_percent)


class HsRiskRule(models.Model):
    hs_prefix = models.CharField(
        _("HS code prefix"), max_length=10, validators=[RegexValidator(r"^[0-9]{2,10}$", _("2–10 digits."))]
    )
    weight = models.SmallIntegerField(_("weight"))
    description = models.CharField(_("why this is risky"), max_length=255)
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        triggers = [reference_changed_trigger("hs_risk_rule_changed")]
        verbose_name = _("HS risk rule")
        verbose_name_plural = _("HS risk rules")
        ordering = ["hs_prefix"]

    def __str__(self) -> str:
        return f"{self.hs_prefix}: {self.weight:+d}"


class ReferencePrice(models.Model):
    """A reference customs value per kg of an HS heading, to spot undervaluation."""

    hs_heading = models.CharField(
        _("HS heading"), max_length=4, validators=[RegexValidator(r"^[0-9]{4}$", _("4 digits."))]
    )
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    price_per_kg = models.DecimalField(_("price per kg"), max_digits=12, decimal_places=4)

    history = HistoricalRecords()

    class Meta:
        triggers = [reference_changed_trigger("reference_price_changed")]
        verbose_name = _("reference price")
        verbose_name_plural = _("reference prices")
        constraints = [models.UniqueConstraint(fields=["hs_heading", "currency"], name="reference_price_once")]

    def __str__(self) -> str:
        return f"{self.hs_heading}: {self.price_per_kg} {self.currency}/kg"


class CompanyViolation(models.Model):
    company = models.ForeignKey("clearance.Company", on_delete=models.CASCADE, related_name="violations")
    occurred_on = models.DateField(_("occurred on"))
    description = models.CharField(_("description"), max_length=255)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name = _("company violation")
        verbose_name_plural = _("company violations")
        ordering = ["-occurred_on"]

    def __str__(self) -> str:
        return f"{self.company} {self.occurred_on}"


class WatchlistEntryQuerySet(models.QuerySet):
    def in_force(self, at=None):
        at = at or timezone.now()
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))


class WatchlistEntry(models.Model):
    """A person or vehicle the border guard wants to stop or look at."""

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        VEHICLE = "vehicle", _("Vehicle")

    class Action(models.TextChoices):
        FLAG = "flag", _("Flag for manual check")
        DENY = "deny", _("Deny crossing")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    name_key = models.CharField(max_length=150, blank=True, editable=False, db_index=True)
    document_number = models.CharField(_("document number"), max_length=30, blank=True, db_index=True)
    plate = models.CharField(_("plate"), max_length=20, blank=True)
    normalized_plate = models.CharField(max_length=20, blank=True, editable=False, db_index=True)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices, default=Action.FLAG)
    reason = models.TextField(_("reason"))
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    objects = WatchlistEntryQuerySet.as_manager()

    history = HistoricalRecords()

    class Meta:
        triggers = [reference_changed_trigger("watchlist_entry_changed")]
        verbose_name = _("watchlist entry")
        verbose_name_plural = _("watchlist entries")
        ordering = ["-added_at"]

    def __str__(self) -> str:
        return self.full_name or self.document_number or self.plate

    def save(self, *args, **kwargs) -> None:
        # Matching forms are derived; keep them in step on every write path.
        self.name_key = fold_name(self.full_name)[:150]
        self.normalized_plate = normalize_plate(self.plate)[:20]
        super().save(*args, **kwargs)


class RevokedCertificate(models.Model):
    number = models.CharField(_("certificate number"), max_length=40, unique=True)
    reason = models.TextField(_("reason"))
    revoked_at = models.DateTimeField(_("revoked at"), auto_now_add=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    history = HistoricalRecords()

    class Meta:
        triggers = [reference_changed_trigger("revoked_certificate_changed")]
        verbose_name = _("revoked quarantine certificate")
        verbose_name_plural = _("revoked quarantine certificates")

    def __str__(self) -> str:
        return self.number
