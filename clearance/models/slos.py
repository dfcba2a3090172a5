"""Service-level objectives: what the gate promises, as data supervisors edit (with history), judged on the
stage times the services store (``clearance.kpis``) for the live day and for a simulated one."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clearance.models.declarations import Declaration
from vehicles.models import Direction


class ServiceLevelObjective(models.Model):
    """``percentile`` of ``stage`` within ``target_minutes``, over the vehicles of a channel and direction
    (blank: all of them)."""

    class Stage(models.TextChoices):
        # Each stage is between two stored times of a declaration (clearance.kpis.STAGES).
        DECLARED_TO_DECIDED = "declared_to_decided", _("declared → checks decided")
        ARRIVAL_TO_CALLED = "arrival_to_called", _("arrival → called")
        CALLED_TO_IN_LANE = "called_to_in_lane", _("called → in lane")
        IN_LANE_TO_CROSSED = "in_lane_to_crossed", _("in lane → crossed")
        ARRIVAL_TO_CROSSED = "arrival_to_crossed", _("arrival → crossed")

    name = models.CharField(_("name"), max_length=200)
    stage = models.CharField(_("stage"), max_length=30, choices=Stage.choices)
    percentile = models.PositiveSmallIntegerField(
        _("percentile"), validators=[MinValueValidator(1), MaxValueValidator(100)], help_text=_("e.g. 95 for p95")
    )
    target_minutes = models.PositiveIntegerField(_("target (minutes)"), validators=[MinValueValidator(1)])
    channel = models.CharField(
        _("customs channel"), max_length=6, choices=Declaration.Channel.choices, blank=True, help_text=_("blank: all")
    )
    direction = models.CharField(
        _("direction"), max_length=12, choices=Direction.choices, blank=True, help_text=_("blank: both")
    )
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("service-level objective")
        verbose_name_plural = _("service-level objectives")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name
