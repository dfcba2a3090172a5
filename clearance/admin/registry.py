from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin

from clearance.models import (
    Check,
    Company,
    CompanyAPIKey,
    CompanyViolation,
    Container,
    CustomsDeclaration,
    Declaration,
    DeclarationEvent,
    GoodsLine,
    HsRiskRule,
    Inspection,
    QuarantineCertificate,
    ReferencePrice,
    RevokedCertificate,
    RiskSettings,
    WatchlistEntry,
)
from vehicles.plates import normalize_plate


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "tax_code", "country", "compliance_rating", "is_active", "created_at"]
    list_filter = ["country", "compliance_rating", "is_active"]
    search_fields = ["name", "tax_code"]


@admin.register(CompanyAPIKey)
class CompanyAPIKeyAdmin(APIKeyModelAdmin):
    """Keys are issued with `manage.py create_api_key` (shown once); here they are listed and revoked."""

    list_display = [*APIKeyModelAdmin.list_display, "company"]
    list_filter = [*APIKeyModelAdmin.list_filter, "company"]
    search_fields = [*APIKeyModelAdmin.search_fields, "company__name", "company__tax_code"]
    list_select_related = ["company"]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CustomsDeclarationInline(ReadOnlyInline):
    model = CustomsDeclaration
    fields = ["number", "type", "is_active"]


class ContainerInline(ReadOnlyInline):
    model = Container
    fields = ["number", "size", "seals"]


class GoodsLineInline(ReadOnlyInline):
    model = GoodsLine
    fields = ["hs_code", "description", "quantity", "unit", "gross_weight_kg", "value", "currency", "origin_country"]


class QuarantineCertificateInline(ReadOnlyInline):
    model = QuarantineCertificate
    fields = ["number", "issued_on", "expires_on"]


class CheckInline(ReadOnlyInline):
    model = Check
    fields = ["version", "kind", "status", "outcome", "reasons", "attempts", "started_at", "finished_at"]
    ordering = ["-version", "kind"]


class InspectionInline(ReadOnlyInline):
    model = Inspection
    fields = ["version", "force", "kind", "status", "reasons", "notes", "resolved_by", "resolved_at"]


class DeclarationEventInline(ReadOnlyInline):
    model = DeclarationEvent
    fields = ["at", "actor_kind", "actor", "event", "reason", "version", "data"]
    ordering = ["id"]


@admin.register(Declaration)
class DeclarationAdmin(admin.ModelAdmin):
    """Declarations change only through the services: the admin shows them, it never edits status or stage."""

    list_display = ["reference", "vehicle", "company", "route", "direction", "status", "channel", "stage",
                    "expected_arrival", "created_at"]
    list_filter = ["status", "channel", "stage", "route", "direction", "needs_quarantine"]
    search_fields = ["reference", "vehicle__normalized_plate", "company__name", "company__tax_code",
                     "containers__number", "customs_declarations__number"]
    list_select_related = ["vehicle", "company", "route"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [CustomsDeclarationInline, ContainerInline, GoodsLineInline, QuarantineCertificateInline,
               CheckInline, InspectionInline, DeclarationEventInline]

    def get_search_results(self, request, queryset, search_term):
        # A plate written any way finds its declarations.
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term:
            queryset |= self.model.objects.filter(vehicle__normalized_plate=normalize_plate(search_term))
        return queryset, may_have_duplicates

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DeclarationEvent)
class DeclarationEventAdmin(admin.ModelAdmin):
    list_display = ["at", "declaration", "event", "actor_kind", "actor", "version", "reason"]
    list_filter = ["event", "actor_kind"]
    search_fields = ["declaration__reference", "actor", "reason"]
    list_select_related = ["declaration"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False




@admin.register(RiskSettings)
class RiskSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "yellow_threshold", "red_threshold", "random_rate_percent", "random_rate_floor_percent"]

    def has_add_permission(self, request) -> bool:
        return not RiskSettings.objects.exists()  # one row of settings

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(HsRiskRule)
class HsRiskRuleAdmin(admin.ModelAdmin):
    list_display = ["hs_prefix", "weight", "description", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["hs_prefix", "description"]


@admin.register(ReferencePrice)
class ReferencePriceAdmin(admin.ModelAdmin):
    list_display = ["hs_heading", "price_per_kg", "currency"]
    list_filter = ["currency"]
    search_fields = ["hs_heading"]


@admin.register(CompanyViolation)
class CompanyViolationAdmin(admin.ModelAdmin):
    list_display = ["company", "occurred_on", "description", "recorded_by"]
    search_fields = ["company__name", "company__tax_code", "description"]
    autocomplete_fields = ["company"]
    readonly_fields = ["recorded_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(WatchlistEntry)
class WatchlistEntryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "action", "document_number", "plate", "added_by", "added_at", "expires_at"]
    list_filter = ["kind", "action"]
    search_fields = ["full_name", "name_key", "document_number", "plate", "normalized_plate", "reason"]
    readonly_fields = ["added_by", "added_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.added_by = request.user  # who put someone on the list is part of the record
        super().save_model(request, obj, form, change)


@admin.register(RevokedCertificate)
class RevokedCertificateAdmin(admin.ModelAdmin):
    list_display = ["number", "reason", "added_by", "revoked_at"]
    search_fields = ["number"]
    readonly_fields = ["added_by", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.added_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Check)
class CheckAdmin(admin.ModelAdmin):
    list_display = ["declaration", "kind", "version", "status", "outcome", "attempts", "started_at", "finished_at"]
    list_filter = ["kind", "status", "outcome"]
    search_fields = ["declaration__reference"]
    list_select_related = ["declaration"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Inspection)
class InspectionAdmin(admin.ModelAdmin):
    list_display = ["declaration", "force", "kind", "status", "created_at", "resolved_by", "resolved_at"]
    list_filter = ["force", "kind", "status"]
    search_fields = ["declaration__reference"]
    list_select_related = ["declaration", "resolved_by"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
