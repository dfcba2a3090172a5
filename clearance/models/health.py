"""Border health quarantine (kiểm dịch y tế): the epidemic mode the province switches on and off, and the
health force's flags on people. Reference data: full history, entries ended (never deleted)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from vehicles.names import fold_name


class HealthReason(models.TextChoices):
    """The health check's reason codes, in plain words (Vietnamese in locale/vi)."""

    NOT_REQUIRED = "health_check_not_required", _("No epidemic period is in force: no health check is needed.")
    DECLARATION_MISSING = "health_declaration_missing", _("A health declaration is required in the epidemic period.")
    SYMPTOMS = "health_symptoms_declared", _("Someone aboard declared symptoms of illness.")
    FEVER = "health_fever_declared", _("A temperature at or above the fever threshold was declared.")
    CLOSE_CONTACT = "health_close_contact_declared", _("Someone aboard declared close contact with a case.")
    TESTING_REQUIRED = "health_testing_required", _("The health force requires this person to be tested.")
    DECLARATION_ACCEPTED = "health_declaration_accepted", _("The health declaration raises no concern.")


class EpidemicModeQuerySet(models.QuerySet):
    def in_force(self, at: datetime | None = None):
        at = at or timezone.now()
        return self.filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at), valid_from__lte=at)


class EpidemicMode(models.Model):
    """A period in which the province requires a health declaration for every crossing and the health
    force's flags apply. Set by a supervisor; ended by its ``valid_until``, never deleted."""

    reason = models.TextField(_("reason"), help_text=_("The province's decision and the disease, in plain words."))
    valid_from = models.DateTimeField(_("in force from"))
    valid_until = models.DateTimeField(_("in force until"), null=True, blank=True, help_text=_("Empty: until ended."))
    fever_threshold_c = models.DecimalField(
        _("fever threshold (°C)"),
        max_digits=3,
        decimal_places=1,
        default="37.5",
        validators=[MinValueValidator(36), MaxValueValidator(40)],
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = EpidemicModeQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("epidemic period (health checks on)")
        verbose_name_plural = _("epidemic periods (health checks on)")
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(
                name="epidemic_mode_ends_after_start",
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.valid_from:%Y-%m-%d} – {self.valid_until:%Y-%m-%d}"
            if self.valid_until
            else f"{self.valid_from:%Y-%m-%d} –"
        )

    def clean(self) -> None:
        if self.valid_until is not None and self.valid_from is not None and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": _("The end must come after the start.")})

    @classmethod
    def at(cls, moment: datetime) -> EpidemicMode | None:
        """The period in force at ``moment`` (the latest started, if two overlap), or None."""
        return cls.objects.in_force(moment).order_by("-valid_from", "-id").first()


class HealthFlagQuerySet(models.QuerySet):
    def in_force(self, at: datetime | None = None):
        at = at or timezone.now()
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))


class HealthFlag(models.Model):
    """A person the health force wants to see before they cross (a driver to be tested, say), matched by
    document number or by folded name, like the border guard's watchlist."""

    class Action(models.TextChoices):
        TESTING_REQUIRED = "testing_required", _("Test before crossing")

    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    name_key = models.CharField(max_length=150, blank=True, editable=False, db_index=True)
    document_number = models.CharField(_("document number"), max_length=30, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices, default=Action.TESTING_REQUIRED)
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
    expires_at = models.DateTimeField(_("ends at"), null=True, blank=True)

    objects = HealthFlagQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("health flag")
        verbose_name_plural = _("health flags")
        ordering = ["-added_at"]
        constraints = [
            models.CheckConstraint(
                name="health_flag_names_someone", condition=~Q(full_name="") | ~Q(document_number="")
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.document_number

    def save(self, *args, **kwargs) -> None:
        # The matching form is derived; keep it in step on every write path.
        self.name_key = fold_name(self.full_name)[:150]
        super().save(*args, **kwargs)
