"""The lane board (one page per route, refreshing itself) and the dashboard, inside the admin."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clearance import selectors
from clearance.audit import Actor
from clearance.errors import DomainError
from clearance.roles import is_gate_operator
from clearance.services.lanes import lane_set_open, lane_switch_direction
from vehicles.models import Lane, Route


def board(request, route_id: int):
    route = get_object_or_404(Route, id=route_id)
    context = {
        **admin.site.each_context(request),
        "title": _("Lane board %(route)s") % {"route": route.code},
        "route": route,
        "routes": Route.objects.filter(is_smart_gate=True).order_by("code"),
        "board": selectors.lane_board(route=route),
        "can_operate": is_gate_operator(request.user),
    }
    return TemplateResponse(request, "admin/clearance/board.html", context)


def board_data(request, route_id: int):
    route = get_object_or_404(Route, id=route_id)
    return JsonResponse({**selectors.lane_board(route=route), "can_operate": is_gate_operator(request.user)})


@require_POST
def lane_action(request, lane_id: int, action: str):
    """Gate operators open or close a lane or switch a reversible lane, from the board."""
    if not is_gate_operator(request.user):
        raise PermissionDenied
    lane = get_object_or_404(Lane, id=lane_id)
    actor = Actor.for_user(request.user)
    reason = request.POST.get("reason", "").strip()
    try:
        if action == "open":
            lane_set_open(lane_id=lane.id, is_open=True, actor=actor, reason=reason)
        elif action == "close":
            lane_set_open(lane_id=lane.id, is_open=False, actor=actor, reason=reason)
        elif action == "switch":
            other = "import" if lane.current_direction == "export" else "export"
            lane_switch_direction(lane_id=lane.id, direction=other, actor=actor, reason=reason)
        else:
            raise PermissionDenied
        messages.success(request, _("Lane %(lane)s updated.") % {"lane": lane.code})
    except DomainError as error:
        messages.error(request, error.detail)
    return redirect("admin:lane-board", route_id=lane.route_id)


def dashboard(request):
    context = {
        **admin.site.each_context(request),
        "title": _("Dashboard"),
        "figures": selectors.dashboard_figures(),
        "routes": Route.objects.filter(is_smart_gate=True).order_by("code"),
    }
    figures = context["figures"]
    busiest = max([row["week"] for row in figures["per_route"].values()] + [1])
    context["bars"] = [
        {
            "label": label,
            "today": row["today"],
            "week": row["week"],
            "today_pct": 100 * row["today"] / busiest,
            "week_pct": 100 * row["week"] / busiest,
        }
        for label, row in figures["per_route"].items()
    ]
    total = sum(figures["channels"].values()) or 1
    context["channel_bars"] = [
        {"name": name, "count": count, "pct": 100 * count / total} for name, count in figures["channels"].items()
    ]
    return TemplateResponse(request, "admin/clearance/dashboard.html", context)


def urls():
    wrap = admin.site.admin_view
    return [
        path("board/<int:route_id>/", wrap(board), name="lane-board"),
        path("board/<int:route_id>/data.json", wrap(board_data), name="lane-board-data"),
        path("board/lane/<int:lane_id>/<str:action>/", wrap(lane_action), name="lane-action"),
        path("dashboard/", wrap(dashboard), name="dashboard"),
    ]


_original_get_urls = admin.site.get_urls


def _get_urls():
    return urls() + _original_get_urls()


admin.site.get_urls = _get_urls
