"""Badges read at WCAG 2.2 AA: every status and channel colour with the text colour it gets."""

import pytest

from clearance.admin.colours import CHANNEL_COLOURS, NEUTRAL, STATUS_COLOURS, badge, contrast, text_colour
from clearance.models import Declaration

EVERY_BADGE = [*STATUS_COLOURS.values(), *CHANNEL_COLOURS.values(), NEUTRAL]


@pytest.mark.parametrize("background", EVERY_BADGE)
def test_every_badge_has_aa_contrast(background):
    assert contrast(text_colour(background), background) >= 4.5


def test_the_yellow_channel_is_dark_on_yellow_not_white():
    assert contrast("#ffffff", CHANNEL_COLOURS[Declaration.Channel.YELLOW]) < 2  # what officers could not read
    assert "color:#1a1a1a" in badge("Yellow", CHANNEL_COLOURS[Declaration.Channel.YELLOW])


def test_contrast_is_the_wcag_ratio():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#777777", "#777777") == 1.0
