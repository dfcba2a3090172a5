"""Service-level objectives (supervisors edit them, with a reason kept in their history) and the daily KPI
export's download (supervisors, and officers of the gate management board)."""

from __future__ import annotations

from datetime import date

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.admin.board import AdminScreen
from clearance.kpis import daily_kpis, kpis_csv, kpis_xlsx
from clearance.models import ServiceLevelObjective
from clearance.roles import is_supervisor
from vehicles.history import ReasonedHistoryAdmin
from vehicles.models import local_date

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@admin.register(ServiceLevelObjective)
class ServiceLevelObjectiveAdmin(ReasonedHistoryAdmin):
    list_display = ["name", "stage", "percentile", "target_minutes", "channel", "direction", "is_active"]
    list_filter = ["is_active", "stage", "channel", "direction"]
    search_fields = ["name"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # an objective is ended (made inactive, with a reason), never deleted: its history stays


class KpiExportView(AdminScreen):
    """``?date=YYYY-MM-DD&format=csv|xlsx``: the day's KPIs as a file. Supervisors only."""

    def get(self, request):
        if not is_supervisor(request.user):
            raise PermissionDenied
        text = request.GET.get("date") or local_date(timezone.now()).isoformat()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return HttpResponse(
                _("date: %(value)s is not a date; give YYYY-MM-DD.") % {"value": text[:40]},
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        kind = request.GET.get("format", "csv")
        if kind not in ("csv", "xlsx"):
            return HttpResponse(_("format: give csv or xlsx."), status=400, content_type="text/plain; charset=utf-8")
        rows = daily_kpis(day=day)
        if kind == "csv":
            response = HttpResponse(kpis_csv(rows), content_type="text/csv; charset=utf-8")
        else:
            response = HttpResponse(kpis_xlsx(rows, day=day), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="smartgate-kpis-{day.isoformat()}.{kind}"'
        return response
