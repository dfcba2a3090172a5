"""The lane board (one page per route, refreshing itself) and the dashboard, inside the admin.

Views in the manner of Django's own admin views: each holds the ``admin_site`` it is served by and takes
its context from it; clearance/admin/urls.py mounts them on the site behind its staff login.
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from clearance import console, kpis, selectors
from clearance.admin.colours import CHANNEL_COLOURS, NEUTRAL
from clearance.audit import Actor
from clearance.errors import DomainError
from clearance.models import Declaration
from clearance.roles import is_gate_operator, is_supervisor
from clearance.services.lanes import lane_set_open, lane_switch_direction
from vehicles.models import LOCAL_TZ, Direction, Lane, Route, local_date


class LaneAction(models.TextChoices):
    """What a gate operator does to a lane from the board (the last part of the action's URL)."""

    OPEN = "open", gettext_lazy("Open lane")
    CLOSE = "close", gettext_lazy("Close lane")
    SWITCH = "switch", gettext_lazy("Switch direction")


def live_fragment(request, template: str, context: dict, *, now, summary: str = "") -> TemplateResponse:
    """The part of a screen that refreshes itself (clearance/static/clearance/console/live.js swaps it in).

    The headers tell the script it got a fragment (a login page after a logout has none), when it was
    made, and the counts to announce to a screen reader when they change."""
    response = TemplateResponse(request, template, {**context, "base_template": "admin/clearance/live_fragment.html"})
    response["X-Console-Fragment"] = "1"
    response["X-Updated-At"] = now.astimezone(LOCAL_TZ).strftime("%H:%M:%S")
    response["X-Live-Summary"] = quote(summary)
    response["Cache-Control"] = "no-store"
    return response


class AdminScreen(View):
    """A page of the gate's own in the admin, with the site's header, sidebar and language switch."""

    admin_site: AdminSite | None = None  # given by as_view(admin_site=…)

    def screen_context(self, request, **context) -> dict:
        return {**self.admin_site.each_context(request), **context}

    @staticmethod
    def smart_routes():
        return Route.objects.filter(is_smart_gate=True).order_by("code")


class LaneBoardView(AdminScreen):
    fragment = False

    def get(self, request, route_id: int):
        route = get_object_or_404(Route, id=route_id)
        now = timezone.now()
        board = selectors.lane_board(route=route, now=now)
        context = self.screen_context(
            request,
            title=_("Lane board %(route)s") % {"route": route.code},
            route=route,
            routes=self.smart_routes(),
            board=board,
            can_operate=is_gate_operator(request.user),
            lane_actions=LaneAction,
            updated_at=now.astimezone(LOCAL_TZ),
        )
        summary = _("%(open_lanes)d of %(lanes)d lanes open, %(waiting)d vehicles waiting") % {
            "open_lanes": route.lanes.filter(is_open=True).count(),
            "lanes": len(board["lanes"]),
            "waiting": len(board["queue"]),
        }
        if self.fragment:
            return live_fragment(request, "admin/clearance/board.html", context, now=now, summary=summary)
        context["summary"] = summary
        return TemplateResponse(request, "admin/clearance/board.html", context)


class LaneBoardDataView(AdminScreen):
    """What the board's page fetches every few seconds to refresh itself."""

    def get(self, request, route_id: int):
        route = get_object_or_404(Route, id=route_id)
        return JsonResponse({**selectors.lane_board(route=route), "can_operate": is_gate_operator(request.user)})


class LaneActionView(AdminScreen):
    """Gate operators open or close a lane or switch a reversible lane, from the board: a page first says
    what the action will do to the vehicles called to the lane and asks for the reason, then the service
    carries it out (audited in the lane's chain)."""

    http_method_names = ["get", "post"]

    def _lane(self, request, lane_id: int, action: str) -> Lane:
        if not is_gate_operator(request.user) or action not in LaneAction.values:
            raise PermissionDenied
        return get_object_or_404(Lane, id=lane_id)

    def _confirm(self, request, lane: Lane, action: str, *, error: str = ""):
        called = selectors.vehicles_called_to(lane=lane)
        context = self.screen_context(
            request,
            title=_("%(action)s %(lane)s") % {"action": LaneAction(action).label, "lane": lane.code},
            lane=lane,
            action=LaneAction(action),
            called=called,
            effect=_lane_action_effect(action, lane=lane, called=len(called)),
            error=error,
        )
        return TemplateResponse(request, "admin/clearance/lane_action_confirm.html", context)

    def get(self, request, lane_id: int, action: str):
        lane = self._lane(request, lane_id, action)
        return self._confirm(request, lane, action)

    def post(self, request, lane_id: int, action: str):
        lane = self._lane(request, lane_id, action)
        actor = Actor.for_user(request.user)
        reason = request.POST.get("reason", "").strip()
        if not reason:
            return self._confirm(request, lane, action, error=_("Give the reason: it is kept with the lane's history."))
        try:
            if action == LaneAction.SWITCH:
                other = Direction.IMPORT if lane.current_direction == Direction.EXPORT else Direction.EXPORT
                lane_switch_direction(lane_id=lane.id, direction=other, actor=actor, reason=reason)
            else:
                lane_set_open(lane_id=lane.id, is_open=action == LaneAction.OPEN, actor=actor, reason=reason)
            messages.success(request, _("Lane %(lane)s updated.") % {"lane": lane.code})
        except DomainError as error:
            messages.error(request, error.detail)
        return redirect(f"{self.admin_site.name}:lane-board", route_id=lane.route_id)


def _lane_action_effect(action: str, *, lane: Lane, called: int) -> str:
    if action == LaneAction.CLOSE:
        if not called:
            return _("No vehicle is called to this lane. No vehicle will be called to it until it is opened again.")
        return _(
            "%(count)d vehicle(s) called to this lane will go back to the yard queue at their place, and no "
            "vehicle will be called to it until it is opened again."
        ) % {"count": called}
    if action == LaneAction.SWITCH:
        other = Direction.IMPORT if lane.current_direction == Direction.EXPORT else Direction.EXPORT
        return _(
            "The lane will take %(direction)s vehicles from now on; %(count)d vehicle(s) already called to it "
            "keep their call."
        ) % {"direction": Direction(other).label, "count": called}
    return _("The dispatcher will call waiting vehicles to this lane again, within its hours and capacity.")


CHART_HEIGHT = 120
CHART_SLOT = 20  # px of the SVG's viewBox per hour


def hour_chart(hours: list[dict], key: str) -> dict:
    """An inline-SVG bar chart of one figure per hour: the bars' geometry, computed here, drawn by the
    template (no JavaScript, no chart library; it prints and it refreshes with the page's live region)."""
    top = max([hour[key] for hour in hours] + [1])
    bars = []
    for index, hour in enumerate(hours):
        height = round(CHART_HEIGHT * hour[key] / top, 1)
        bars.append(
            {
                "x": index * CHART_SLOT + 2,
                "y": CHART_HEIGHT - height,
                "height": height,
                "value": hour[key],
                "hour": hour["hour"],
                "label_x": index * CHART_SLOT + CHART_SLOT / 2,
                "label_y": CHART_HEIGHT - height - 2,
            }
        )
    return {"bars": bars, "top": top, "width": max(len(hours), 1) * CHART_SLOT, "height": CHART_HEIGHT}


class DashboardView(AdminScreen):
    fragment = False

    def get(self, request):
        now = timezone.now()
        figures = selectors.dashboard_figures(now=now)
        per_route = {
            (route, direction): figures["per_route"].get(f"{route} {direction}", {"today": 0, "week": 0})
            for route, direction in console.route_directions()
        }
        busiest = max([row["week"] for row in per_route.values()] + [1])
        today = local_date(now)
        total = sum(figures["channels"].values()) or 1
        hours = console.hourly_figures(now=now)
        context = self.screen_context(
            request,
            title=_("Dashboard"),
            figures=figures,
            routes=self.smart_routes(),
            updated_at=now.astimezone(LOCAL_TZ),
            bars=[
                {
                    "route": route,
                    "direction": Direction(direction).label,
                    "today": row["today"],
                    "week": row["week"],
                    "today_pct": 100 * row["today"] / busiest,
                    "week_pct": 100 * row["week"] / busiest,
                }
                for (route, direction), row in per_route.items()
            ],
            channel_bars=[
                {
                    "name": name,
                    "label": Declaration.Channel(name).label,
                    "count": count,
                    "pct": 100 * count / total,
                    "colour": CHANNEL_COLOURS.get(name, NEUTRAL),
                }
                for name, count in figures["channels"].items()
            ],
            # The objectives in force, judged on the vehicles that reached a yard today (their stages so far).
            slos=kpis.live_day_slos(day=today),
            today=today,
            can_export=is_supervisor(request.user),
            throughput=hour_chart(hours, "crossings"),
            backlog=hour_chart(hours, "backlog"),
        )
        summary = _("%(waiting)d vehicles waiting") % {"waiting": figures["waiting"]}
        if self.fragment:
            return live_fragment(request, "admin/clearance/dashboard.html", context, now=now, summary=summary)
        context["summary"] = summary
        return TemplateResponse(request, "admin/clearance/dashboard.html", context)
