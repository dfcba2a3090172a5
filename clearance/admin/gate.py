from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from clearance import roles
from clearance.admin.actions import confirm_and_apply
from clearance.models import (
    ArrivalSlot,
    Fee,
    GateDecision,
    GatePass,
    Handover,
    LaneCall,
    LaneEvent,
    OfflineDecision,
    Payment,
    Tariff,
    TariffCoefficient,
    TariffRate,
    UnmatchedArrival,
)
from clearance.services.offline import offline_conflict_review
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


@admin.register(GatePass)
class GatePassAdmin(ReadOnlyAdmin):
    list_display = [
        "issued_at",
        "declaration",
        "normalized_plate",
        "lane",
        "valid_until",
        "key_id",
        "revoked_at",
        "revoked_reason",
    ]
    list_filter = ["route", "direction", "key_id", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["normalized_plate", "declaration__reference"]
    list_select_related = ["declaration", "lane"]
    exclude = ["token"]


class ReviewedFilter(admin.SimpleListFilter):
    title = _("review")
    parameter_name = "reviewed"

    def lookups(self, request, model_admin):
        return [("no", _("Conflicts to review")), ("yes", _("Reviewed"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(outcome=OfflineDecision.Outcome.CONFLICT, reviewed_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(reviewed_at__isnull=False)
        return queryset


@admin.register(OfflineDecision)
class OfflineDecisionAdmin(ReadOnlyAdmin):
    """The decisions lane controllers took while the centre was unreachable; the conflicts (flagged) wait
    for an officer, who reviews them with a note."""

    list_display = [
        "read_at",
        "lane",
        "plate",
        "decision",
        "outcome",
        "conflict",
        "conflict_detail",
        "declaration",
        "reviewed_at",
    ]
    list_filter = [ReviewedFilter, "outcome", "conflict", "lane"]
    search_fields = ["gate_decision__normalized_plate", "declaration__reference", "decision_id"]
    list_select_related = ["lane", "declaration", "gate_decision"]
    date_hierarchy = "read_at"
    actions = ["review"]

    @admin.display(description=_("plate"))
    def plate(self, obj):
        return obj.gate_decision.plate_read

    @admin.display(description=_("decision"))
    def decision(self, obj):
        return obj.gate_decision.get_decision_display()

    def has_review_permission(self, request) -> bool:
        return roles.is_gate_operator(request.user) and request.user.has_perm("clearance.change_offlinedecision")

    @admin.action(description=_("Mark the conflicts reviewed (with a note)"), permissions=["review"])
    def review(self, request, queryset):
        return confirm_and_apply(
            self,
            request,
            queryset,
            title=_("Review offline conflicts"),
            apply=lambda obj, data: offline_conflict_review(offline_id=obj.id, user=request.user, note=data["reason"]),
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
