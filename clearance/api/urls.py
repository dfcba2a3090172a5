from django.urls import path

from clearance.api import views

urlpatterns = [
    path("declarations/", views.DeclarationListCreateApi.as_view(), name="declaration-list"),
    path("declarations/<int:declaration_id>/", views.DeclarationDetailApi.as_view(), name="declaration-detail"),
    path("declarations/<int:declaration_id>/events/", views.DeclarationEventsApi.as_view(), name="declaration-events"),
    path("declarations/<int:declaration_id>/cancel/", views.DeclarationCancelApi.as_view(), name="declaration-cancel"),
    path("declarations/<int:declaration_id>/slot/", views.DeclarationSlotApi.as_view(), name="declaration-slot"),
    path("slots/", views.SlotListApi.as_view(), name="slot-list"),
    path("gates/load/", views.GateLoadApi.as_view(), name="gate-load"),
]
