from django.urls import path, re_path

from clearance.api.views import (
    audit,
    batch,
    customs,
    declarations,
    events,
    gate,
    imports,
    inspections,
    load,
    payments,
    slots,
    webhooks,
)

urlpatterns = [
    path("declarations/", declarations.DeclarationListCreateApi.as_view(), name="declaration-list"),
    path("declarations/batch/", batch.DeclarationBatchApi.as_view(), name="declaration-batch"),
    path("declarations/import/", imports.DeclarationImportApi.as_view(), name="declaration-import"),
    re_path(
        r"^declarations/import/template\.(?P<extension>xlsx|csv)$",
        imports.DeclarationImportTemplateApi.as_view(),
        name="declaration-import-template",
    ),
    path("declarations/<int:declaration_id>/", declarations.DeclarationDetailApi.as_view(), name="declaration-detail"),
    path(
        "declarations/<int:declaration_id>/events/",
        declarations.DeclarationEventsApi.as_view(),
        name="declaration-events",
    ),
    path(
        "declarations/<int:declaration_id>/cancel/",
        declarations.DeclarationCancelApi.as_view(),
        name="declaration-cancel",
    ),
    path("declarations/<int:declaration_id>/slot/", slots.DeclarationSlotApi.as_view(), name="declaration-slot"),
    path("slots/", slots.SlotListApi.as_view(), name="slot-list"),
    path("gates/load/", load.GateLoadApi.as_view(), name="gate-load"),
    path("audit/daily-heads/", audit.AuditDailyHeadsApi.as_view(), name="audit-daily-heads"),
    path("declarations/<int:declaration_id>/ticket/", payments.TicketApi.as_view(), name="declaration-ticket"),
    path("gate/reads/", gate.GateReadApi.as_view(), name="gate-reads"),
    path("gate/reads/offline/", gate.GateOfflineUploadApi.as_view(), name="gate-reads-offline"),
    path("gate/keys/", gate.GateKeysApi.as_view(), name="gate-keys"),
    path("gate/passes/", gate.GatePassesApi.as_view(), name="gate-passes"),
    path("gate/revocations/", gate.GateRevocationsApi.as_view(), name="gate-revocations"),
    path("gate/movements/", gate.GateMovementApi.as_view(), name="gate-movements"),
    path("gate/weights/", gate.GateWeightApi.as_view(), name="gate-weights"),
    path("gate/handovers/", gate.GateHandoverApi.as_view(), name="gate-handovers"),
    path(
        "inspections/<int:inspection_id>/result/", inspections.InspectionResultApi.as_view(), name="inspection-result"
    ),
    path("payments/callback/", payments.PaymentCallbackApi.as_view(), name="payment-callback"),
    path("webhooks/", webhooks.WebhookListCreateApi.as_view(), name="webhook-list"),
    path("webhooks/<int:subscription_id>/", webhooks.WebhookDetailApi.as_view(), name="webhook-detail"),
    path(
        "webhooks/<int:subscription_id>/rotate-secret/",
        webhooks.WebhookRotateSecretApi.as_view(),
        name="webhook-rotate-secret",
    ),
    path("webhooks/<int:subscription_id>/test/", webhooks.WebhookTestApi.as_view(), name="webhook-test"),
    path(
        "webhooks/<int:subscription_id>/deliveries/",
        webhooks.WebhookDeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver/",
        webhooks.WebhookRedeliverApi.as_view(),
        name="webhook-redeliver",
    ),
    path("events/", events.EventFeedApi.as_view(), name="event-feed"),
    path("customs/notifications/", customs.CustomsNotificationApi.as_view(), name="customs-notifications"),
]
