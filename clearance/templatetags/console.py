"""Template filters of the officers' console: money in VND, reasons in plain words, waiting times."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from clearance.admin.colours import text_colour
from clearance.admin.reasons import plain_reason
from clearance.models import Declaration, DeclarationEvent
from vehicles.models import LOCAL_TZ, Direction, Lane

register = template.Library()


@register.filter
def vnd(amount) -> str:
    """``1.000.000 ₫`` in Vietnamese (dots group thousands, the đồng sign after), ``1,000,000 VND`` otherwise."""
    if amount is None or amount == "":
        return "—"
    grouped = f"{int(amount):,}"
    if (get_language() or "").startswith("vi"):
        return f"{grouped.replace(',', '.')}\u00a0₫"
    return f"{grouped}\u00a0VND"


@register.filter
def plain_reasons(reasons) -> str:
    """A list of reason dicts as plain words, each with its code and the engine's message on hover."""
    items = [reason for reason in reasons or [] if isinstance(reason, dict)]
    if not items:
        return "—"
    return format_html_join(
        "",
        '<span class="reason" title="{}">{}</span>',
        (
            (
                f"{reason.get('code', '')}: {reason.get('message', '')}".rstrip(": "),
                plain_reason(str(reason.get("code", ""))),
            )
            for reason in items
        ),
    )


@register.filter
def reason_words(code) -> str:
    return plain_reason(str(code))


@register.filter
def waited(minutes) -> str:
    """45 → "45 min", 135 → "2 h 15 min"."""
    if minutes is None or minutes == "":
        return "—"
    minutes = int(minutes)
    if minutes < 60:
        return _("%(m)d min") % {"m": minutes}
    return _("%(h)d h %(m)02d min") % {"h": minutes // 60, "m": minutes % 60}


@register.filter
def local(moment: datetime | None, fmt: str = "%H:%M") -> str:
    """A moment at the gate's local time (Asia/Ho_Chi_Minh)."""
    if not moment:
        return "—"
    return moment.astimezone(LOCAL_TZ).strftime(fmt)


@register.simple_tag
def age_class(minutes) -> str:
    """The ageing band of a waiting time, for its colour: fresh, 30 minutes and more, an hour and more."""
    if minutes is None:
        return "age-none"
    return "age-60" if minutes >= 60 else "age-30" if minutes >= 30 else "age-0"


@register.filter
def badge_html(text, colour) -> str:
    return format_html(
        '<span class="badge" style="background:{};color:{}">{}</span>', colour, text_colour(colour), text
    )


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)  # an unknown value is shown as it is rather than hidden


@register.filter
def status_label(value) -> str:
    return _label(Declaration.Status, value)


@register.filter
def stage_label(value) -> str:
    return _label(Declaration.Stage, value)


@register.filter
def direction_label(value) -> str:
    return _label(Direction, value)


@register.filter
def purpose_label(value) -> str:
    return _label(Lane.Purpose, value)


TIMELINE_LABELS = {
    DeclarationEvent.Kind.SUBMITTED: _lazy("Declared"),
    "decided": _lazy("Checks decided"),
    Declaration.Stage.IN_YARD: _lazy("Arrived in yard"),
    Declaration.Stage.CALLED: _lazy("Called to a lane"),
    Declaration.Stage.IN_LANE: _lazy("Entered lane"),
    Declaration.Stage.CROSSED: _lazy("Crossed"),
}


@register.filter
def timeline_label(step) -> str:
    return str(TIMELINE_LABELS.get(step, step))
