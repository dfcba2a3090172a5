from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin

from vehicles.history import ReasonedHistoryAdmin
from vehicles.models import (
    BorderGate,
    DeviceAPIKey,
    Driver,
    GateDevice,
    Lane,
    LaneWindow,
    Movement,
    Route,
    Trailer,
    Vehicle,
    Yard,
)
from vehicles.names import fold_name
from vehicles.plates import normalize_plate


@admin.register(BorderGate)
class BorderGateAdmin(admin.ModelAdmin):
    list_display = ["code", "name_vi", "name_en", "name_zh", "country", "kind", "counterpart"]
    list_filter = ["country", "kind"]
    search_fields = ["code", "name_vi", "name_en", "name_zh"]
    list_select_related = ["counterpart"]


class LaneInline(admin.TabularInline):
    model = Lane
    extra = 0
    readonly_fields = ["direction", "current_direction", "is_open"]
    fields = [
        "code",
        "direction",
        "current_direction",
        "purpose",
        "capacity_per_hour",
        "max_vehicles_in_lane",
        "opens_at",
        "closes_at",
        "is_open",
        "has_inspection_bay",
        "is_smart",
    ]
    show_change_link = True


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "gate", "counterpart_gate", "is_smart_gate", "lane_count"]
    list_filter = ["is_smart_gate", "gate"]
    search_fields = ["code", "name"]
    list_select_related = ["gate", "counterpart_gate"]
    inlines = [LaneInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(lane_total=Count("lanes"))

    @admin.display(description=_("lanes"), ordering="lane_total")
    def lane_count(self, route: Route) -> int:
        return route.lane_total


@admin.register(Lane)
class LaneAdmin(ReasonedHistoryAdmin):
    list_display = [
        "code",
        "route",
        "direction",
        "current_direction",
        "purpose",
        "is_open",
        "hours",
        "capacity_per_hour",
        "max_vehicles_in_lane",
        "has_inspection_bay",
        "is_smart",
    ]
    list_filter = ["route", "direction", "current_direction", "purpose", "is_open", "has_inspection_bay", "is_smart"]
    search_fields = ["code", "route__code"]
    list_select_related = ["route"]
    # Opening, closing and switching go through the lane board's audited services, never a raw edit.
    readonly_fields = ["direction", "current_direction", "is_open"]

    @admin.display(description=_("operating hours (local)"))
    def hours(self, lane: Lane) -> str:
        if lane.is_round_the_clock:
            return _("24 hours")
        return f"{lane.opens_at:%H:%M}–{lane.closes_at:%H:%M}"


@admin.register(LaneWindow)
class LaneWindowAdmin(ReasonedHistoryAdmin):
    """When each autonomous lane operates: the dispatcher, a gate operator's call and the barrier follow it."""

    list_display = ["lane", "starts_at", "ends_at", "valid_from", "valid_to", "safety_driver_required", "note"]
    list_filter = ["lane", "safety_driver_required"]
    list_select_related = ["lane"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "lane":
            kwargs["queryset"] = Lane.objects.filter(purpose=Lane.Purpose.AUTONOMOUS)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Yard)
class YardAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "gate", "route", "capacity"]
    list_filter = ["kind", "gate", "route"]
    search_fields = ["code", "name"]
    list_select_related = ["gate", "route"]


class PlatedAdmin(admin.ModelAdmin):
    search_fields = ["plate", "normalized_plate"]
    readonly_fields = ["normalized_plate", "created_at", "updated_at"]

    def get_search_results(self, request, queryset, search_term):
        # Any written form of a plate finds it: search the normalized form too.
        filtered = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term:
            queryset |= filtered.filter(normalized_plate=normalize_plate(search_term))
        return queryset, may_have_duplicates


@admin.register(Vehicle)
class VehicleAdmin(PlatedAdmin):
    list_display = [
        "plate",
        "country",
        "vehicle_class",
        "max_gross_weight_kg",
        "permit_number",
        "permit_expires",
        "is_autonomous",
    ]
    list_filter = ["country", "vehicle_class", "is_autonomous"]
    search_fields = ["plate", "normalized_plate", "permit_number"]


@admin.register(Trailer)
class TrailerAdmin(PlatedAdmin):
    list_display = ["plate", "country", "created_at"]
    list_filter = ["country"]


@admin.register(Driver)
class DriverAdmin(admin.ModelAdmin):
    list_display = ["full_name", "nationality", "document_type", "document_number", "document_expires"]
    list_filter = ["nationality", "document_type"]
    search_fields = ["full_name", "name_key", "document_number"]
    readonly_fields = ["name_key", "created_at", "updated_at"]

    def get_search_results(self, request, queryset, search_term):
        # "nguyen van duc" finds "Nguyễn Văn Đức".
        filtered = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term:
            queryset |= filtered.filter(name_key__contains=fold_name(search_term))
        return queryset, may_have_duplicates


@admin.register(Movement)
class MovementAdmin(admin.ModelAdmin):
    """Movements are facts reported by devices: read-only here."""

    list_display = [
        "occurred_at",
        "kind",
        "plate_read",
        "normalized_plate",
        "yard",
        "lane",
        "gross_weight_kg",
        "source",
    ]
    list_filter = ["kind", "yard", "lane"]
    search_fields = ["plate_read", "normalized_plate", "source"]
    list_select_related = ["yard", "lane"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(GateDevice)
class GateDeviceAdmin(ReasonedHistoryAdmin):
    """Devices are registered with `manage.py create_device` (which shows the key once); here they are
    listed and switched off."""

    list_display = ["name", "kind", "lane", "yard", "is_active", "created_at"]
    list_filter = ["kind", "is_active", "lane", "yard"]
    search_fields = ["name"]
    list_select_related = ["lane", "yard"]


@admin.register(DeviceAPIKey)
class DeviceAPIKeyAdmin(APIKeyModelAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "device"]
    list_select_related = ["device"]
