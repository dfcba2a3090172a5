"""The forwarders' webhooks as officers see them: subscriptions, deliveries with their attempts, events.
Read-only (a forwarder manages its own over the API); the signing secrets are never shown."""

from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from clearance.admin.gate import ReadOnlyAdmin
from clearance.models import CompanyEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["id", "company", "url", "events", "is_active", "failing_since", "disabled_reason", "created_at"]
    list_filter = ["is_active", "company"]
    search_fields = ["url", "company__name", "company__tax_code"]
    list_select_related = ["company"]
    exclude = ["secret_encrypted", "previous_secret_encrypted"]
    # Targets are https (Django 6's default scheme; stated here so Django 5 does not warn).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["at", "status_code", "latency_ms", "error", "response_body"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "subscription", "event_type", "status", "attempts", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "event__type"]
    search_fields = ["subscription__url", "subscription__company__name", "event__reference"]
    list_select_related = ["subscription__company", "event"]
    inlines = [WebhookAttemptInline]

    @admin.display(description=_("event"), ordering="event__type")
    def event_type(self, delivery) -> str:
        return f"{delivery.event.type} {delivery.event.reference}"


@admin.register(CompanyEvent)
class CompanyEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "company", "type", "reference", "seq", "created_at", "fanned_out_at"]
    list_filter = ["type", "company"]
    search_fields = ["reference"]
    list_select_related = ["company"]
