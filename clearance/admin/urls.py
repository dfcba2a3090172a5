"""The lane board and the dashboard, mounted on the admin site (smartgate.admin) behind its staff login."""

from django.contrib import admin
from django.urls import path

from clearance.admin.board import DashboardView, LaneActionView, LaneBoardDataView, LaneBoardView
from clearance.admin.kpis import KpiExportView
from clearance.admin.work import WorkActionView, WorkHomeView

site = admin.site


def screen(view_class, **initkwargs):
    return site.admin_view(view_class.as_view(admin_site=site, **initkwargs))


urlpatterns = [
    path("board/<int:route_id>/", screen(LaneBoardView), name="lane-board"),
    path("board/<int:route_id>/data.json", screen(LaneBoardDataView), name="lane-board-data"),
    path("board/lane/<int:lane_id>/<str:action>/", screen(LaneActionView), name="lane-action"),
    path("board/<int:route_id>/live/", screen(LaneBoardView, fragment=True), name="lane-board-live"),
    path("dashboard/", screen(DashboardView), name="dashboard"),
    path("kpis/export/", screen(KpiExportView), name="kpi-export"),
    path("dashboard/live/", screen(DashboardView, fragment=True), name="dashboard-live"),
    path("work/", screen(WorkHomeView), name="work"),
    path("work/<str:home>/", screen(WorkHomeView), name="work-home"),
    path("work/<str:home>/live/", screen(WorkHomeView, fragment=True), name="work-home-live"),
    path("work/item/<int:object_id>/<str:action>/", screen(WorkActionView), name="work-action"),
]
