"""What a forwarder may see of the work done on its declarations: one policy for the API and, later, webhooks.

A forwarder sees its own words whole. Of what officers, workers and devices wrote, it sees:
- an audit event's free-text reason only where the event's kind says so (``EVENTS``);
- the reasons of checks and inspections only where their code is about its own documents and goods
  (``FORWARDER_REASON_CODES``); any other reason is summed up once as ``UNDER_REVIEW``;
- of checks, inspections and events, only the fields listed here (``CHECK_FIELDS`` and the others).
Decided by kind and code, never by reading the text.
"""

from __future__ import annotations

from dataclasses import dataclass

from clearance.models import CHECK_FAILED_REASON, Check, CheckReason, DeclarationEvent, HealthReason

Kind = DeclarationEvent.Kind


@dataclass(frozen=True)
class EventDisclosure:
    """What a forwarder sees of an event of one kind written by someone other than itself."""

    reason: bool  # the free-text reason; False where it may quote a watchlist, a risk rule or an officer's notes


REASON_SHOWN = EventDisclosure(reason=True)
REASON_INTERNAL = EventDisclosure(reason=False)

# Every kind of event, so a new kind cannot be disclosed by default (tests/clearance/test_disclosure.py).
EVENTS: dict[DeclarationEvent.Kind, EventDisclosure] = {
    Kind.SUBMITTED: REASON_SHOWN,
    Kind.CHECKS_STARTED: REASON_SHOWN,
    Kind.CHECK_STARTED: REASON_SHOWN,
    Kind.CHECK_FINISHED: REASON_SHOWN,
    Kind.CHECK_FAILED: REASON_SHOWN,
    Kind.CLEARED: REASON_SHOWN,
    Kind.INSPECTION_REQUIRED: REASON_INTERNAL,  # the rule or watchlist entry that fired
    Kind.INSPECTION_PASSED: REASON_INTERNAL,  # the officer's notes
    Kind.INSPECTION_FAILED: REASON_INTERNAL,  # the officer's notes
    Kind.HELD: REASON_INTERNAL,  # the officer's notes
    Kind.REJECTED: REASON_INTERNAL,  # the denying check's grounds, or a supervisor's
    Kind.AMENDED: REASON_SHOWN,
    Kind.CANCELLED: REASON_SHOWN,
    Kind.SLOT_BOOKED: REASON_SHOWN,
    Kind.SLOT_MOVED: REASON_SHOWN,
    Kind.SLOT_RELEASED: REASON_SHOWN,
    Kind.SLOT_NO_SHOW: REASON_SHOWN,
    Kind.ARRIVED_IN_YARD: REASON_SHOWN,
    Kind.ARRIVAL_HELD: REASON_SHOWN,  # the notice rule and when it has run: about the forwarder's own timing
    Kind.ARRIVAL_HOLD_WAIVED: REASON_INTERNAL,  # the officer's words
    Kind.CALLED: REASON_SHOWN,
    Kind.CALL_MISSED: REASON_SHOWN,
    Kind.CALL_WITHDRAWN: REASON_INTERNAL,  # the operator's words on closing the lane
    Kind.TURNED_BACK: REASON_SHOWN,
    Kind.ENTERED_LANE: REASON_SHOWN,
    Kind.CROSSED: REASON_SHOWN,
    Kind.WEIGHED: REASON_SHOWN,
    Kind.HANDOVER: REASON_SHOWN,
    Kind.LEG_ARRIVED: REASON_SHOWN,
    Kind.HANDOVER_MISMATCH: REASON_SHOWN,  # which of the forwarder's own containers were missing or extra
    Kind.FEE_ISSUED: REASON_SHOWN,
    Kind.FEE_PAID: REASON_SHOWN,
    Kind.CUSTOMS_CHANGED: REASON_SHOWN,  # the customs system's notice about the forwarder's own declaration
}

# Reasons about the forwarder's own documents and goods. Watchlist matches and the customs engine's
# rules, weights and random selection stay with the officers.
FORWARDER_REASON_CODES = frozenset(
    {
        "document_expired",
        "document_expires_soon",
        "permit_missing",
        "permit_expired",
        "vehicle_has_active_crossing",
        "certificate_missing",
        "certificate_expired",
        "certificate_revoked",
        "certificate_valid",
        Check.Outcome.NOT_REQUIRED,  # quarantine's reason for goods outside HS chapters 01–24
        "clear",
        CHECK_FAILED_REASON,
        Check.Outcome.SUPERSEDED,  # the reason code of a check overtaken by an amendment
        "weight_mismatch",
        "container_unsealed",
        "overweight",
        CheckReason.NO_GOODS,
        # The health declaration is the forwarder's own; the health force's list of people to be tested
        # (HealthReason.TESTING_REQUIRED) stays with the officers, like the watchlist.
        HealthReason.NOT_REQUIRED,
        HealthReason.DECLARATION_MISSING,
        HealthReason.SYMPTOMS,
        HealthReason.FEVER,
        HealthReason.CLOSE_CONTACT,
        HealthReason.DECLARATION_ACCEPTED,
    }
)
UNDER_REVIEW = {"code": "under_review", "message": "The authority reviews this crossing further."}
# What an outcome means to the forwarder, said in place of the internal reasons behind it. An outcome that
# sends the crossing to officers (yellow, red, flag, inspection) is "under review"; these are not.
OUTCOME_SUMMARIES = {
    Check.Outcome.GREEN: {
        "code": "green_channel",
        "message": "Customs releases the goods on the declared documents (green channel).",
    },
    Check.Outcome.PASS: {"code": "check_passed", "message": "Nothing in this check stands in the way of the crossing."},
    Check.Outcome.DENY: {"code": "refused", "message": "The authority refuses this crossing."},
}

# The fields a forwarder reads, in the order they are shown. Not shown: a check's claim and enqueue
# bookkeeping; an inspection's version, officer's notes and who resolved it; the officer user of an event.
CHECK_FIELDS = ("kind", "version", "status", "outcome", "reasons", "attempts", "started_at", "finished_at")
INSPECTION_FIELDS = ("id", "force", "kind", "status", "reasons", "created_at", "resolved_at")
EVENT_FIELDS = ("id", "at", "actor_kind", "actor", "event", "reason", "version", "data")


def forwarder_reasons(reasons: list[dict], *, outcome: str | None = None) -> list[dict]:
    """The reasons whose code the forwarder may read; when any other was left out, once, what the check's
    outcome means to the forwarder (``OUTCOME_SUMMARIES``), or UNDER_REVIEW."""
    shown = [reason for reason in reasons if reason.get("code") in FORWARDER_REASON_CODES]
    if len(shown) == len(reasons):
        return shown
    return [*shown, OUTCOME_SUMMARIES.get(outcome, UNDER_REVIEW)]


def written_by_forwarder(event: DeclarationEvent) -> bool:
    return event.actor_kind == DeclarationEvent.ActorKind.API_KEY


def event_reason(event: DeclarationEvent) -> str:
    """The event's free-text reason as the forwarder sees it: empty where it stays internal. A kind missing
    from EVENTS (none is, and a test holds it so) would stay internal."""
    if written_by_forwarder(event) or EVENTS.get(event.event, REASON_INTERNAL).reason:
        return event.reason
    return ""


def event_data(event: DeclarationEvent) -> dict:
    """The event's data as the forwarder sees it: check and inspection reasons filtered by their code."""
    if written_by_forwarder(event):
        return event.data
    details = dict(event.data or {})
    if "reasons" in details:
        details["reasons"] = forwarder_reasons(details["reasons"], outcome=details.get("outcome"))
    return details
