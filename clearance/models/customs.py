"""The customs system as a client: its own API keys, and the change notices it sends about VNACCS
declarations (amended, channel changed, cancelled), kept once per message id."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey


class CustomsSystemClient(models.Model):
    """A customs system allowed to notify changes (its keys are a kind of their own)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customs system client")
        verbose_name_plural = _("customs system clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomsSystemAPIKey(AbstractAPIKey):
    """A customs system's credential: hashed, in its own table, so a forwarder's or a device's key can
    never be used as one."""

    client = models.ForeignKey(
        CustomsSystemClient, verbose_name=_("client"), on_delete=models.CASCADE, related_name="api_keys"
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("customs system API key")
        verbose_name_plural = _("customs system API keys")


class CustomsNotification(models.Model):
    class Change(models.TextChoices):
        AMENDED = "amended", _("Customs declaration amended")
        CHANNEL_CHANGED = "channel_changed", _("Customs channel changed")
        CANCELLED = "cancelled", _("Customs declaration cancelled")

    class Outcome(models.TextChoices):
        """What a notice did to one crossing (stable words in the answer)."""

        RECHECKING = "rechecking", _("Checked again")
        HELD = "held", _("Held in the lane for an officer")
        UNCHANGED = "unchanged", _("Unchanged (held, cancelled, or past the gate)")

    client = models.ForeignKey(CustomsSystemClient, on_delete=models.PROTECT, related_name="notifications")
    message_id = models.CharField(_("message id"), max_length=100)
    number = models.CharField(_("customs declaration number"), max_length=12)
    change = models.CharField(_("change"), max_length=20, choices=Change.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    # What it did: [{"id", "reference", "outcome"}], the answer replayed to a repeated message.
    results = models.JSONField(_("results"), default=list)

    class Meta:
        verbose_name = _("customs change notification")
        verbose_name_plural = _("customs change notifications")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["client", "message_id"], name="customsnotification_once_per_message")
        ]

    def __str__(self) -> str:
        return f"{self.message_id}: {self.number} {self.change}"
