"""Arrival slots, the yard queue and calls to lanes."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from vehicles.models import Direction, Lane, Route


class ArrivalSlot(models.Model):
    """An hour in which a route takes a number of vehicles in one direction."""

    route = models.ForeignKey(Route, verbose_name=_("route"), on_delete=models.PROTECT, related_name="slots")
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    starts_at = models.DateTimeField(_("starts at"))
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    booked = models.PositiveSmallIntegerField(_("booked"), default=0)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("arrival slot")
        verbose_name_plural = _("arrival slots")
        ordering = ["starts_at", "route__code", "direction"]
        constraints = [
            models.UniqueConstraint(fields=["route", "direction", "starts_at"], name="slot_once_per_hour"),
            models.CheckConstraint(name="slot_not_overbooked", condition=Q(booked__lte=F("capacity"))),
        ]

    def __str__(self) -> str:
        return f"{self.route} {self.direction} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


class LaneCall(models.Model):
    """A vehicle called forward to a lane: the log that capacity per hour is counted from."""

    lane = models.ForeignKey(Lane, on_delete=models.PROTECT, related_name="calls")
    declaration = models.ForeignKey("clearance.Declaration", on_delete=models.CASCADE, related_name="lane_calls")
    called_at = models.DateTimeField(_("called at"))
    missed = models.BooleanField(_("missed (did not arrive in time)"), default=False)

    class Meta:
        verbose_name = _("lane call")
        verbose_name_plural = _("lane calls")
        ordering = ["-called_at"]
        indexes = [models.Index(fields=["lane", "called_at"], name="lanecall_lane_time_idx")]

    def __str__(self) -> str:
        return f"{self.declaration} → {self.lane}"


class UnmatchedArrival(models.Model):
    """A plate seen at a yard gate with no active declaration: kept for officers, never dropped."""

    plate_read = models.CharField(_("plate as read"), max_length=20)
    normalized_plate = models.CharField(_("normalized plate"), max_length=20, db_index=True)
    yard = models.ForeignKey("vehicles.Yard", verbose_name=_("yard"), on_delete=models.PROTECT)
    movement = models.OneToOneField("vehicles.Movement", on_delete=models.PROTECT)
    seen_at = models.DateTimeField(_("seen at"))
    resolved = models.BooleanField(_("resolved"), default=False)

    class Meta:
        verbose_name = _("unmatched arrival")
        verbose_name_plural = _("unmatched arrivals")
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.plate_read} at {self.yard}"


class LaneEvent(models.Model):
    """The audit trail of lanes: opened, closed, direction switched — who, when, why."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        CLOSED = "closed", _("Closed")
        DIRECTION_SWITCHED = "direction_switched", _("Direction switched")

    # Evidence, chained in the lane's audit records: never updated or deleted (PostgreSQL triggers).
    lane = models.ForeignKey(Lane, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.CharField(_("actor"), max_length=150)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    event = models.CharField(_("event"), max_length=40, choices=Kind.choices)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("lane event")
        verbose_name_plural = _("lane events")
        ordering = ["-id"]
        triggers = [pgtrigger.Protect(name="lane_event_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.lane} {self.event}"


class QueueTurn(models.Model):
    """How many vehicles in a row the queue of a route and direction has given to its priority classes,
    for the interleaving ratio that keeps regular trucks from starving."""

    route = models.ForeignKey(Route, on_delete=models.CASCADE)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    priority_streak = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["route", "direction"], name="queue_turn_once")]

    def __str__(self) -> str:
        return f"{self.route} {self.direction}: {self.priority_streak}"
