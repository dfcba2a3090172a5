"""The health force's and the province's reference data: epidemic periods, people to be tested, and the
goods groups eligible for the smart lanes. Every change asks for its reason and is kept in the history;
nothing here is deleted (a period or an entry is ended by its end time, a goods group deactivated)."""

from django.contrib import admin

from clearance.models import EpidemicMode, HealthFlag, SmartLaneGoodsGroup
from vehicles.history import ReasonedHistoryAdmin


@admin.register(EpidemicMode)
class EpidemicModeAdmin(ReasonedHistoryAdmin):
    """Set by a supervisor: while a period is in force every crossing needs a health declaration."""

    list_display = ["__str__", "valid_from", "valid_until", "fever_threshold_c", "set_by", "created_at"]
    search_fields = ["reason"]
    readonly_fields = ["set_by", "created_at"]
    date_hierarchy = "valid_from"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a period is ended (its end time, with a reason), never deleted: checks were decided by it

    def save_model(self, request, obj, form, change):
        if not change:
            obj.set_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(HealthFlag)
class HealthFlagAdmin(ReasonedHistoryAdmin):
    list_display = ["__str__", "action", "document_number", "added_by", "added_at", "expires_at"]
    list_filter = ["action"]
    search_fields = ["full_name", "name_key", "document_number", "reason"]
    readonly_fields = ["added_by", "added_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # an entry is ended (its end time, with a reason), never deleted: it is evidence

    def save_model(self, request, obj, form, change):
        if not change:
            obj.added_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(SmartLaneGoodsGroup)
class SmartLaneGoodsGroupAdmin(ReasonedHistoryAdmin):
    list_display = ["name", "hs_prefixes", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate it instead: the history shows which groups stood when a vehicle was called
