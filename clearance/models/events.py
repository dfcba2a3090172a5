"""What the forwarders hear: the outbox of their events, and the webhooks that deliver them.

``CompanyEvent`` rows are written by ``clearance.services.outbox`` from the lifecycle, in the transaction
of the change they tell, one INSERT each. The same rows back the webhooks (one ``WebhookDelivery`` per
event and subscription, one ``WebhookAttempt`` per try) and the company's event feed.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from clearance.models.declarations import Company


class TransactionId(models.Func):
    """The inserting transaction's id on PostgreSQL (0 elsewhere: SQLite has one writer at a time).

    The feed reads in (transaction, id) order and only below the oldest transaction still running, so an
    event committed late by a long transaction can never land behind a cursor already handed out."""

    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        if connection.vendor == "postgresql":
            return "(pg_current_xact_id()::text::bigint)", []
        return "0", []


class CompanyEvent(models.Model):
    class Type(models.TextChoices):
        """The stable event types a forwarder subscribes to (documented in the OpenAPI schema)."""

        DECLARATION_CREATED = "declaration.created", _("Declaration created")
        DECLARATION_AMENDED = "declaration.amended", _("Declaration amended")
        DECLARATION_CANCELLED = "declaration.cancelled", _("Declaration cancelled")
        CHECK_COMPLETED = "check.completed", _("Check completed")
        DECLARATION_CLEARED = "declaration.cleared", _("Declaration cleared")
        DECLARATION_HELD = "declaration.held", _("Declaration held")
        DECLARATION_RELEASED = "declaration.released", _("Declaration released")
        DECLARATION_REJECTED = "declaration.rejected", _("Declaration rejected")
        SLOT_BOOKED = "slot.booked", _("Slot booked")
        SLOT_MOVED = "slot.moved", _("Slot moved")
        SLOT_RELEASED = "slot.released", _("Slot released")
        SLOT_NO_SHOW = "slot.no_show", _("Slot missed")
        VEHICLE_ARRIVED = "vehicle.arrived", _("Vehicle arrived in a yard")
        VEHICLE_CALLED = "vehicle.called", _("Vehicle called to a lane")
        VEHICLE_IN_LANE = "vehicle.in_lane", _("Vehicle in lane")
        VEHICLE_CROSSED = "vehicle.crossed", _("Vehicle crossed")
        INSPECTION_OPENED = "inspection.opened", _("Inspection opened")
        INSPECTION_COMPLETED = "inspection.completed", _("Inspection completed")
        FEE_ISSUED = "fee.issued", _("Fee issued")
        FEE_PAID = "fee.paid", _("Fee paid")
        HANDOVER_MISMATCH = (
            "handover.mismatch",
            _("Containers handed over at the transfer point do not match: the onward vehicle is held"),
        )
        CUSTOMS_CHANGED = "customs.changed", _("Customs declaration changed: checked again, or held in the lane")
        PING = "ping", _("Ping (a test of a subscription; not in the feed)")

    # The public id: the Standard Webhooks ``webhook-id`` and the feed's event id.
    uid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="events", db_index=False)  # feed_idx
    type = models.CharField(_("type"), max_length=40, choices=Type.choices)
    # No foreign key: the event is a message already sent, read without a join, kept past the declaration.
    declaration_id = models.BigIntegerField(_("declaration"), null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=30, blank=True)
    seq = models.PositiveIntegerField(_("sequence in the declaration's events"), null=True, blank=True)
    data = models.JSONField(_("data"), default=dict)
    created_at = models.DateTimeField(_("created at"))
    txid = models.BigIntegerField(_("transaction"), db_default=TransactionId(), editable=False)
    # Set when its webhook deliveries were written (clearance.services.webhooks.event_fan_out).
    fanned_out_at = models.DateTimeField(_("fanned out at"), null=True, blank=True)

    class Meta:
        verbose_name = _("company event")
        verbose_name_plural = _("company events")
        ordering = ["txid", "id"]
        indexes = [
            models.Index(fields=["company", "txid", "id"], name="companyevent_feed_idx"),
            models.Index(fields=["created_at"], name="companyevent_created_idx"),
            models.Index(
                fields=["id"], name="companyevent_pending_idx", condition=models.Q(fanned_out_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.reference}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.uid.hex}"


class WebhookSubscription(models.Model):
    """A forwarder's receiver. The signing secrets are kept encrypted (Fernet) so they can sign."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("event types"), default=list)  # ["*"] for every type
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Told by e-mail when smartgate disables the subscription (a 410, or 3 days of failures).
    alert_email = models.EmailField(_("alert e-mail"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=200, blank=True)
    secret_encrypted = models.TextField(_("signing secret (encrypted)"), editable=False)
    previous_secret_encrypted = models.TextField(_("previous secret (encrypted)"), blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(_("previous secret signs until"), null=True, blank=True)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.company_id}: {self.url}"

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed (gave up)")


class WebhookDelivery(models.Model):
    """One event to one subscription: retried with the same ``webhook-id`` until delivered or given up."""

    Status = DeliveryStatus

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(CompanyEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # A worker holds a delivery until then (the conditional claim); past it, the sweep may send it again.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "event"], name="webhookdelivery_once_per_event")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhookdelivery_due_idx",
                condition=models.Q(status=DeliveryStatus.PENDING),
            ),
            models.Index(fields=["subscription", "id"], name="webhookdelivery_sub_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id} ({self.status})"


class WebhookAttempt(models.Model):
    """The delivery log: one row per try."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(_("at"))
    status_code = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    response_body = models.TextField(_("response (first 1 KB)"), blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
