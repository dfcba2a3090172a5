"""The colours officers read a declaration's status and customs channel by, on every screen."""

from __future__ import annotations

from django.utils.html import format_html

from clearance.models import Declaration

STATUS_COLOURS = {
    Declaration.Status.SUBMITTED: "#6c757d",
    Declaration.Status.CHECKING: "#0d6efd",
    Declaration.Status.INSPECTION: "#fd7e14",
    Declaration.Status.CLEARED: "#198754",
    Declaration.Status.HELD: "#dc3545",
    Declaration.Status.REJECTED: "#842029",
    Declaration.Status.CANCELLED: "#adb5bd",
}
CHANNEL_COLOURS = {
    Declaration.Channel.GREEN: "#198754",
    Declaration.Channel.YELLOW: "#ffc107",
    Declaration.Channel.RED: "#dc3545",
}
NEUTRAL = "#6c757d"


def badge(text: str, colour: str) -> str:
    return format_html(
        '<span style="background:{};color:#fff;padding:2px 8px;border-radius:10px;'
        'font-weight:600;white-space:nowrap">{}</span>',
        colour,
        text,
    )
