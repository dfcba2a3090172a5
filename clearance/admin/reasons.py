"""Reason codes in plain words, for officers. The engines' own messages (English, with figures) stay on
hover beside the code: the code is what the record keeps, these words are what an officer reads."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clearance.models import CHECK_FAILED_REASON, Check, Declaration, DeclarationEvent, GateDecision

PLAIN_REASONS = {
    # customs risk engine
    "random_selection": _("Selected at random for a check"),
    "score": _("Risk score of the declaration"),
    "hs_risk": _("Goods on the HS risk list"),
    "company_under_watch": _("Company under watch"),
    "company_priority": _("Priority (AEO) company"),
    "company_violations": _("Company has recent violations"),
    "undervaluation": _("Value per kg below the reference price"),
    "overweight": _("Heavier than the vehicle may carry"),
    "container_unsealed": _("Container without a seal"),
    "weight_mismatch": _("Weighbridge disagrees with the declared weight"),
    # border guard
    "document_expired": _("Driver's document expired"),
    "document_expires_soon": _("Driver's document expires soon"),
    "driver_watchlisted": _("Driver on the watchlist"),
    "vehicle_watchlisted": _("Vehicle on the watchlist"),
    "permit_missing": _("No cross-border permit"),
    "permit_expired": _("Cross-border permit expired"),
    "vehicle_has_active_crossing": _("Vehicle already on another crossing"),
    "clear": _("Documents valid, nothing on the watchlist"),
    # quarantine
    Check.Outcome.NOT_REQUIRED: _("No quarantine needed"),
    "certificate_revoked": _("Quarantine certificate revoked"),
    "certificate_missing": _("No quarantine certificate"),
    "certificate_expired": _("Quarantine certificate not valid on the crossing day"),
    "certificate_valid": _("Quarantine certificate valid"),
    "certificate_on_file": _("Certificate to check on arrival"),
    # the gate and the officers
    CHECK_FAILED_REASON: _("Automatic check failed: check by hand"),
    "arrived_before_notice": _("Arrived before the pre-arrival notice had run"),
    DeclarationEvent.Kind.INSPECTION_FAILED: _("Inspection failed"),
    Declaration.Stage.CALLED: _("Called to a lane"),
    "call_overdue": _("Called, not at the lane in time"),
    **{choice.value: choice.label for choice in GateDecision.HoldReason},
}


def plain_reason(code: str) -> str:
    """The officer's words for ``code``; an unknown code is shown as it is rather than hidden."""
    return str(PLAIN_REASONS.get(code, code))
