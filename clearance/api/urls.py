from django.urls import path

from clearance.api import gate_views, views

urlpatterns = [
    path("declarations/", views.DeclarationListCreateApi.as_view(), name="declaration-list"),
    path("declarations/<int:declaration_id>/", views.DeclarationDetailApi.as_view(), name="declaration-detail"),
    path("declarations/<int:declaration_id>/events/", views.DeclarationEventsApi.as_view(), name="declaration-events"),
    path("declarations/<int:declaration_id>/cancel/", views.DeclarationCancelApi.as_view(), name="declaration-cancel"),
    path("declarations/<int:declaration_id>/slot/", views.DeclarationSlotApi.as_view(), name="declaration-slot"),
    path("slots/", views.SlotListApi.as_view(), name="slot-list"),
    path("gates/load/", views.GateLoadApi.as_view(), name="gate-load"),
    path("declarations/<int:declaration_id>/ticket/", gate_views.TicketApi.as_view(), name="declaration-ticket"),
    path("gate/reads/", gate_views.GateReadApi.as_view(), name="gate-reads"),
    path("gate/movements/", gate_views.GateMovementApi.as_view(), name="gate-movements"),
    path("gate/weights/", gate_views.GateWeightApi.as_view(), name="gate-weights"),
    path("gate/handovers/", gate_views.GateHandoverApi.as_view(), name="gate-handovers"),
    path("inspections/<int:inspection_id>/result/", gate_views.InspectionResultApi.as_view(), name="inspection-result"),
    path("payments/callback/", gate_views.PaymentCallbackApi.as_view(), name="payment-callback"),
]
