from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from clearance.models import (
    ArrivalSlot,
    Fee,
    GateDecision,
    Handover,
    LaneCall,
    LaneEvent,
    Payment,
    Tariff,
    TariffCoefficient,
    TariffRate,
    UnmatchedArrival,
)
from vehicles.history import ReasonedHistoryAdmin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Facts recorded by devices and services: looked at, never edited here."""

    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(GateDecision)
class GateDecisionAdmin(ReadOnlyAdmin):
    list_display = ["decided_at", "lane", "plate_read", "decision", "reasons", "confidence", "declaration"]
    list_filter = ["decision", "lane"]
    search_fields = ["normalized_plate", "plate_read", "declaration__reference"]
    list_select_related = ["lane", "declaration"]
    date_hierarchy = "decided_at"


def coefficients_in_words(fee: Fee) -> str:
    """The coefficients a fee applied, as an officer reads them: "wharf_transfer ×0.30 (Goods only …)"."""
    return " · ".join(
        f"{applied['code']} ×{applied['coefficient']}"
        + (f" ({applied['description']})" if applied.get("description") else "")
        for applied in fee.applied_coefficients()
    )


@admin.register(Handover)
class HandoverAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "declaration",
        "yard",
        "from_plate",
        "containers",
        "missing",
        "unexpected",
        "wrong_vehicle",
        "recorded_by",
    ]
    list_filter = ["yard", "wrong_vehicle"]
    search_fields = ["declaration__reference", "from_plate"]
    list_select_related = ["declaration", "yard"]


class TariffRateInline(admin.TabularInline):
    model = TariffRate
    extra = 0


class TariffCoefficientInline(admin.TabularInline):
    model = TariffCoefficient
    extra = 0


@admin.register(Tariff)
class TariffAdmin(ReasonedHistoryAdmin):
    list_display = ["code", "name", "valid_from", "valid_to"]
    inlines = [TariffRateInline, TariffCoefficientInline]


@admin.register(Fee)
class FeeAdmin(ReadOnlyAdmin):
    list_display = ["declaration", "amount_vnd", "status", "journey", "coefficients", "tariff", "issued_at", "paid_at"]
    list_filter = ["status", "journey", "tariff"]
    search_fields = ["declaration__reference"]
    list_select_related = ["declaration", "tariff"]

    @admin.display(description=_("coefficients applied"))
    def coefficients(self, fee: Fee) -> str:
        return coefficients_in_words(fee)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider_payment_id", "fee", "amount_vnd", "status", "detail"]
    list_filter = ["status"]
    search_fields = ["provider_payment_id", "fee__declaration__reference"]
    list_select_related = ["fee__declaration"]


@admin.register(ArrivalSlot)
class ArrivalSlotAdmin(ReasonedHistoryAdmin):
    list_display = ["starts_at", "route", "direction", "capacity", "booked"]
    list_filter = ["route", "direction"]
    date_hierarchy = "starts_at"
    fields = ["route", "direction", "starts_at", "capacity", "booked"]
    readonly_fields = ["route", "direction", "starts_at", "booked"]
    list_select_related = ["route"]

    def has_add_permission(self, request) -> bool:
        return False  # slots are generated; officers adjust capacity


@admin.register(LaneCall)
class LaneCallAdmin(ReadOnlyAdmin):
    list_display = ["called_at", "lane", "declaration", "missed"]
    list_filter = ["lane", "missed"]
    list_select_related = ["lane", "declaration"]


@admin.register(LaneEvent)
class LaneEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "lane", "event", "actor", "reason"]
    list_filter = ["lane", "event"]
    list_select_related = ["lane"]


@admin.register(UnmatchedArrival)
class UnmatchedArrivalAdmin(admin.ModelAdmin):
    list_display = ["seen_at", "plate_read", "yard", "resolved"]
    list_filter = ["resolved", "yard"]
    search_fields = ["plate_read", "normalized_plate"]
    fields = ["plate_read", "yard", "seen_at", "resolved"]
    readonly_fields = ["plate_read", "yard", "seen_at"]
    list_select_related = ["yard"]

    def has_add_permission(self, request) -> bool:
        return False
