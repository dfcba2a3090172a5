"""Each role's home: its work queue with counts and ageing, refreshed live, and the one-row actions it
takes from there (record an inspection's result, release or reject a held crossing), each behind a page
that says what it does and asks for the reason. The services check the role again."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearance import console, kpis, selectors
from clearance.admin.board import AdminScreen, live_fragment
from clearance.errors import DomainError
from clearance.models import Declaration, Inspection
from clearance.roles import (
    BORDER_GUARD_OFFICER,
    CUSTOMS_OFFICER,
    GATE_OPERATOR,
    HEALTH_OFFICER,
    QUARANTINE_OFFICER,
    can_act_for_force,
    is_supervisor,
    user_roles,
)
from clearance.services.inspections import declaration_reject_held, declaration_release, inspection_record_result
from vehicles.models import LOCAL_TZ, local_date


class Panel:
    """A section of a home: a titled queue of rows (or a table of lanes or yards) with its ageing."""

    def __init__(self, key: str, title: str, *, rows=None, table=None, next_action: str = "", note: str = ""):
        self.key = key
        self.title = title
        self.rows = rows
        self.table = table
        self.next_action = next_action
        self.note = note
        self.ageing = console.ageing(rows) if rows is not None else None

    @property
    def count(self) -> int:
        return len(self.rows) if self.rows is not None else len(self.table or [])


def _customs(now) -> list[Panel]:
    return [
        Panel(
            "customs-physical",
            _("Customs inspections to do"),
            rows=console.open_inspections(
                forces=[Inspection.Force.CUSTOMS],
                kinds=[Inspection.Kind.PHYSICAL, Inspection.Kind.MANUAL_CHECK],
                now=now,
            ),
            next_action="record_result",
        ),
        Panel(
            "customs-yellow",
            _("Yellow-channel document reviews"),
            rows=console.open_inspections(
                forces=[Inspection.Force.CUSTOMS], kinds=[Inspection.Kind.DOCUMENT_REVIEW], now=now
            ),
            next_action="record_result",
        ),
    ]


def _border_guard(now) -> list[Panel]:
    return [
        Panel(
            "guard-holds",
            _("Vehicles held for a border-guard check"),
            rows=console.open_inspections(forces=[Inspection.Force.BORDER_GUARD], now=now),
            next_action="record_result",
        ),
        Panel("guard-watchlist", _("Watchlist hits"), rows=console.watchlist_hits(now=now), next_action="review"),
    ]


def _quarantine(now) -> list[Panel]:
    return [
        Panel(
            "quarantine-inspections",
            _("Quarantine inspections to do"),
            rows=console.open_inspections(forces=[Inspection.Force.QUARANTINE], now=now),
            next_action="record_result",
        ),
        Panel(
            "quarantine-certificates",
            _("Quarantine certificates of today's crossings"),
            rows=console.certificates_to_check(now=now),
            next_action="review",
        ),
    ]


def _health(now) -> list[Panel]:
    return [
        Panel(
            "health-screenings",
            _("Health screenings to do"),
            rows=console.open_inspections(forces=[Inspection.Force.HEALTH], now=now),
            next_action="record_result",
        ),
    ]


def _gate(now) -> list[Panel]:
    called, overdue = console.called_vehicles(now=now)
    return [
        Panel("gate-lanes", _("Lanes"), table=console.lanes_at_a_glance(now=now), next_action="lanes"),
        Panel("gate-yards", _("Yard queues"), table=console.yard_queues(now=now), next_action="yards"),
        Panel(
            "gate-called",
            _("Vehicles called to a lane"),
            rows=called,
            next_action="review",
            note=_("%(count)d overdue (not at their lane in time)") % {"count": overdue},
        ),
    ]


def _supervisor(now) -> list[Panel]:
    return [
        Panel(
            "supervisor-held",
            _("Held crossings to release or reject"),
            rows=console.held_declarations(now=now),
            next_action="release_or_reject",
        ),
    ]


class HomeRole(models.TextChoices):
    CUSTOMS = "customs", gettext_lazy("Customs")
    BORDER_GUARD = "border_guard", gettext_lazy("Border guard")
    QUARANTINE = "quarantine", gettext_lazy("Quarantine")
    HEALTH = "health", gettext_lazy("Health quarantine")
    GATE = "gate", gettext_lazy("Gate operations")
    SUPERVISOR = "supervisor", gettext_lazy("Supervision")


HOMES = {
    HomeRole.CUSTOMS: (CUSTOMS_OFFICER, _customs),
    HomeRole.BORDER_GUARD: (BORDER_GUARD_OFFICER, _border_guard),
    HomeRole.QUARANTINE: (QUARANTINE_OFFICER, _quarantine),
    HomeRole.HEALTH: (HEALTH_OFFICER, _health),
    HomeRole.GATE: (GATE_OPERATOR, _gate),
}


def homes_for(user) -> list[HomeRole]:
    """The homes a user works from: its roles', all of them for a supervisor."""
    if is_supervisor(user):
        return [HomeRole.SUPERVISOR, *HOMES]
    roles = user_roles(user)
    return [home for home, (role, _panels) in HOMES.items() if role in roles]


def panels_for(home: HomeRole, now) -> list[Panel]:
    if home == HomeRole.SUPERVISOR:
        return _supervisor(now)
    return HOMES[home][1](now)


class WorkHomeView(AdminScreen):
    """The role's home: ``work/`` shows the first of the user's homes, ``work/<home>/`` a given one."""

    fragment = False

    def get(self, request, home: str | None = None):
        homes = homes_for(request.user)
        if not homes:
            return redirect(f"{self.admin_site.name}:index")  # a role without a queue (fee administrators)
        if home is None:
            current = homes[0]
        elif home in HomeRole.values and HomeRole(home) in homes:
            current = HomeRole(home)
        else:
            raise PermissionDenied
        now = timezone.now()
        panels = panels_for(current, now)
        context = self.screen_context(
            request,
            title=_("My work: %(home)s") % {"home": current.label},
            homes=homes,
            home=current,
            panels=panels,
            can_supervise=is_supervisor(request.user),
            updated_at=now.astimezone(LOCAL_TZ),
            live_url=reverse(f"{self.admin_site.name}:work-home-live", args=[current.value]),
            # Where a row's action comes back to: the home itself, also when the row came in a live fragment.
            home_url=reverse(f"{self.admin_site.name}:work-home", args=[current.value]),
        )
        if current == HomeRole.SUPERVISOR:
            # The day's objectives as the dashboard judges them, and the offline barrier decisions that
            # conflicted with the record and wait for an officer.
            context["slos"] = kpis.live_day_slos(day=local_date(now))
            context["offline_conflicts"] = selectors.offline_conflicts_open().count()
        summary = ", ".join(f"{panel.title}: {panel.count}" for panel in panels)
        if self.fragment:
            return live_fragment(request, "admin/clearance/work.html", context, now=now, summary=summary)
        context["summary"] = summary
        return TemplateResponse(request, "admin/clearance/work.html", context)


class ReasonOnlyForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        min_length=3,
        max_length=1000,
    )


class RowAction(models.TextChoices):
    """One-row actions from a home (the last part of the action's URL)."""

    PASS = "pass", gettext_lazy("Record result: passed")
    FAIL = "fail", gettext_lazy("Record result: failed (hold)")
    RELEASE = "release", gettext_lazy("Release held declaration")
    REJECT = "reject", gettext_lazy("Reject held declaration")


INSPECTION_ACTIONS = {RowAction.PASS, RowAction.FAIL}
HELD_ACTIONS = {RowAction.RELEASE, RowAction.REJECT}


class WorkActionView(AdminScreen):
    """A page that says what the action will do, asks for the reason, then calls the service."""

    http_method_names = ["get", "post"]

    def _target(self, request, object_id: int, action: str):
        if action not in RowAction.values:
            raise PermissionDenied
        action = RowAction(action)
        if action in INSPECTION_ACTIONS:
            inspection = get_object_or_404(
                Inspection.objects.select_related("declaration__vehicle", "declaration__company"), id=object_id
            )
            if not can_act_for_force(request.user, inspection.force):
                raise PermissionDenied
            return action, inspection, inspection.declaration
        if not is_supervisor(request.user):
            raise PermissionDenied
        declaration = get_object_or_404(Declaration.objects.select_related("vehicle", "company"), id=object_id)
        return action, None, declaration

    def _effect(self, action: RowAction, declaration: Declaration) -> str:
        plate = declaration.vehicle.plate
        return {
            RowAction.PASS: _(
                "The inspection is recorded as passed; %(plate)s is cleared once no other inspection is open."
            )
            % {"plate": plate},
            RowAction.FAIL: _(
                "The inspection is recorded as failed; %(plate)s is held for a supervisor to release or reject."
            )
            % {"plate": plate},
            RowAction.RELEASE: _("%(plate)s is cleared and may be called to a lane.") % {"plate": plate},
            RowAction.REJECT: _("%(plate)s is rejected and turned away; the forwarder is told why.") % {"plate": plate},
        }[action]

    def _page(self, request, action, inspection, declaration, form):
        context = self.screen_context(
            request,
            title=f"{action.label}: {declaration.vehicle.plate}",
            action=action,
            inspection=inspection,
            declaration=declaration,
            effect=self._effect(action, declaration),
            form=form,
            back=request.GET.get("back") or request.POST.get("back") or "",
        )
        return TemplateResponse(request, "admin/clearance/work_action.html", context)

    def get(self, request, object_id: int, action: str):
        action, inspection, declaration = self._target(request, object_id, action)
        return self._page(request, action, inspection, declaration, ReasonOnlyForm())

    def post(self, request, object_id: int, action: str):
        action, inspection, declaration = self._target(request, object_id, action)
        form = ReasonOnlyForm(request.POST)
        if not form.is_valid():
            return self._page(request, action, inspection, declaration, form)
        reason = form.cleaned_data["reason"]
        try:
            if action in INSPECTION_ACTIONS:
                inspection_record_result(
                    inspection_id=inspection.id, user=request.user, passed=action == RowAction.PASS, notes=reason
                )
            elif action == RowAction.RELEASE:
                declaration_release(declaration_id=declaration.id, user=request.user, reason=reason)
            else:
                declaration_reject_held(declaration_id=declaration.id, user=request.user, reason=reason)
            messages.success(
                request, _("%(action)s: %(plate)s done.") % {"action": action.label, "plate": declaration.vehicle.plate}
            )
        except DomainError as error:
            messages.error(request, f"{declaration.vehicle.plate}: {error.detail}")
        back = request.POST.get("back", "")
        if back.startswith("/") and not back.startswith("//"):
            return redirect(back)
        return redirect(f"{self.admin_site.name}:work")
