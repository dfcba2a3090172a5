"""The lane board and the dashboard, mounted on the admin site (smartgate.admin) behind its staff login."""

from django.contrib import admin
from django.urls import path

from clearance.admin.board import DashboardView, LaneActionView, LaneBoardDataView, LaneBoardView
from clearance.admin.kpis import KpiExportView

site = admin.site


def screen(view_class):
    return site.admin_view(view_class.as_view(admin_site=site))


urlpatterns = [
    path("board/<int:route_id>/", screen(LaneBoardView), name="lane-board"),
    path("board/<int:route_id>/data.json", screen(LaneBoardDataView), name="lane-board-data"),
    path("board/lane/<int:lane_id>/<str:action>/", screen(LaneActionView), name="lane-action"),
    path("dashboard/", screen(DashboardView), name="dashboard"),
    path("kpis/export/", screen(KpiExportView), name="kpi-export"),
]
