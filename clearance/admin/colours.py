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


DARK_TEXT = "#1a1a1a"
LIGHT_TEXT = "#ffffff"


def _luminance(colour: str) -> float:
    """WCAG 2.2 relative luminance of a #rrggbb colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio, 1 to 21 (AA asks 4.5 for text)."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_colour(background: str) -> str:
    """White or near-black, whichever reads better on ``background`` (no white on yellow)."""
    return max((LIGHT_TEXT, DARK_TEXT), key=lambda text: contrast(text, background))


def badge(text: str, colour: str) -> str:
    return format_html(
        '<span style="background:{};color:{};padding:2px 8px;border-radius:10px;'
        'font-weight:600;white-space:nowrap">{}</span>',
        colour,
        text_colour(colour),
        text,
    )
