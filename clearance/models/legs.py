"""The legs of a crossing: the vehicles that carry its containers in turn, linked by one declaration.

A truck brings the containers to a transfer point (a transfer yard or a wharf), they are handed over (to
an autonomous vehicle, a truck from the other side, or by a wharf crane) and another vehicle carries them
across. The declaration stays the one crossing record: its ``vehicle`` and ``driver`` are the crossing
leg's (the one the lane and the border line see; for an autonomous vehicle, its safety driver), and each
leg keeps its own vehicle, driver or safety driver, transfer point and times.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from vehicles.models import Driver, Vehicle, Yard


class HandoverMethod(models.TextChoices):
    """How the containers pass from one leg's vehicle to the next at the transfer point."""

    AUTONOMOUS_VEHICLE = "autonomous_vehicle", _("Loaded onto an autonomous vehicle")
    TRUCK = "truck", _("Loaded onto another truck (e.g. a Chinese truck)")
    WHARF_CRANE = "wharf_crane", _("Moved by the wharf crane")


class CrossingLeg(models.Model):
    """One vehicle's part of a crossing. Legs are numbered from 1; the last one crosses the border, every
    earlier one ends at a transfer point where its containers are handed to the next leg's vehicle."""

    Method = HandoverMethod

    declaration = models.ForeignKey("clearance.Declaration", on_delete=models.CASCADE, related_name="legs")
    seq = models.PositiveSmallIntegerField(_("leg"))
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="legs")
    # An autonomous vehicle has no driver, only a safety driver aboard; any other vehicle has a driver.
    driver = models.ForeignKey(
        Driver, verbose_name=_("driver"), null=True, blank=True, on_delete=models.PROTECT, related_name="legs_driven"
    )
    safety_driver = models.ForeignKey(
        Driver,
        verbose_name=_("safety driver"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="legs_supervised",
    )
    # What was declared for this leg (vehicle, driver, safety driver), as the declaration keeps its own.
    declared = models.JSONField(_("as declared"), default=dict, editable=False)
    crosses = models.BooleanField(_("crosses the border"), default=False)
    transfer_point = models.ForeignKey(
        Yard,
        verbose_name=_("transfer point"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="legs_ending",
        help_text=_("Where this leg ends and hands its containers over (every leg but the crossing one)."),
    )
    handover_method = models.CharField(_("handed over by"), max_length=20, choices=Method.choices, blank=True)
    arrived_at = models.DateTimeField(_("arrived at the transfer point at"), null=True, blank=True)
    handed_over_at = models.DateTimeField(_("containers handed over at"), null=True, blank=True)

    class Meta:
        verbose_name = _("crossing leg")
        verbose_name_plural = _("crossing legs")
        ordering = ["declaration", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "seq"], name="leg_once_per_seq"),
            models.CheckConstraint(
                name="leg_crosses_or_ends_at_a_transfer_point",
                condition=Q(crosses=True, transfer_point__isnull=True) | Q(crosses=False, transfer_point__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["vehicle", "transfer_point"], name="leg_vehicle_point_idx")]

    def __str__(self) -> str:
        return f"{self.declaration_id} leg {self.seq}"

    @property
    def declared_vehicle(self) -> dict:
        return self.declared.get("vehicle", {})

    @property
    def declared_driver(self) -> dict | None:
        return self.declared.get("driver")

    @property
    def declared_safety_driver(self) -> dict | None:
        return self.declared.get("safety_driver")
