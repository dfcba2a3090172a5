"""The forwarder's events, written beside each audit event in the same transaction (the outbox).

The lifecycle calls ``outbox_event`` for every ``DeclarationEvent`` it appends. An event kind with a
meaning for the forwarder becomes one ``CompanyEvent`` row (written in the lifecycle's own statement, with
the audit event and the declaration's chain head and per-declaration sequence); kinds with none (a check
started, a weighing, a call missed…) write nothing. The data is what the disclosure policy lets the
forwarder read (clearance.disclosure), so the webhooks and the feed can never say more than the API.
After commit the event's webhook deliveries are written and sent (by task name); the sweep in
clearance.services.webhooks catches any the broker missed. A company without an active subscription has
no deliveries to write: its events are written as fanned out, and nothing is sent after commit.
"""

from __future__ import annotations

from django.db import transaction

from clearance import disclosure
from clearance.models import CompanyEvent, Declaration, DeclarationEvent
from clearance.process_caches import company_ids_with_subscriptions
from clearance.services.enqueue import WEBHOOK_FAN_OUT_TASK, WEBHOOKS_QUEUE, task_send, tasks_send

Kind = DeclarationEvent.Kind
Type = CompanyEvent.Type

# Every audit kind, mapped to the forwarder's event type or to None (no forwarder meaning); a test holds
# that no kind is missing, so a new kind is decided here, not skipped by default.
EVENT_TYPES: dict[DeclarationEvent.Kind, CompanyEvent.Type | None] = {
    Kind.SUBMITTED: Type.DECLARATION_CREATED,
    Kind.CHECKS_STARTED: None,
    Kind.CHECK_STARTED: None,
    Kind.CHECK_FINISHED: Type.CHECK_COMPLETED,
    Kind.CHECK_FAILED: Type.CHECK_COMPLETED,
    Kind.CLEARED: Type.DECLARATION_CLEARED,
    Kind.INSPECTION_REQUIRED: Type.INSPECTION_OPENED,
    Kind.INSPECTION_PASSED: Type.INSPECTION_COMPLETED,
    Kind.INSPECTION_FAILED: Type.INSPECTION_COMPLETED,
    Kind.HELD: Type.DECLARATION_HELD,
    Kind.REJECTED: Type.DECLARATION_REJECTED,
    Kind.AMENDED: Type.DECLARATION_AMENDED,
    Kind.CANCELLED: Type.DECLARATION_CANCELLED,
    Kind.SLOT_BOOKED: Type.SLOT_BOOKED,
    Kind.SLOT_MOVED: Type.SLOT_MOVED,
    Kind.SLOT_RELEASED: Type.SLOT_RELEASED,
    Kind.SLOT_NO_SHOW: Type.SLOT_NO_SHOW,
    Kind.ARRIVED_IN_YARD: Type.VEHICLE_ARRIVED,
    Kind.ARRIVAL_HELD: None,
    Kind.ARRIVAL_HOLD_WAIVED: None,
    Kind.CALLED: Type.VEHICLE_CALLED,
    Kind.CALL_MISSED: None,
    Kind.CALL_WITHDRAWN: None,
    Kind.TURNED_BACK: None,
    Kind.ENTERED_LANE: Type.VEHICLE_IN_LANE,
    Kind.CROSSED: Type.VEHICLE_CROSSED,
    Kind.WEIGHED: None,
    Kind.HANDOVER: None,
    Kind.LEG_ARRIVED: None,
    Kind.HANDOVER_MISMATCH: Type.HANDOVER_MISMATCH,
    Kind.FEE_ISSUED: Type.FEE_ISSUED,
    Kind.FEE_PAID: Type.FEE_PAID,
    Kind.CUSTOMS_CHANGED: Type.CUSTOMS_CHANGED,
}

# Data keys that are internal bookkeeping, not the forwarder's business.
_INTERNAL_KEYS = frozenset({"decision", "ignored"})


def event_payload_data(declaration: Declaration, event: DeclarationEvent, *, seq: int) -> dict:
    """The ``data`` of the forwarder's event: which declaration, where it stands, and what the
    disclosure policy shows of the audit event."""
    details = {key: value for key, value in disclosure.event_data(event).items() if key not in _INTERNAL_KEYS}
    reason = disclosure.event_reason(event)
    return {
        "declaration": {"id": declaration.id, "reference": declaration.reference},
        "seq": seq,
        "status": declaration.status,
        "stage": declaration.stage,
        "version": event.version,
        **({"reason": reason} if reason else {}),
        **details,
    }


def outbox_event(
    declaration: Declaration, event: DeclarationEvent, *, type: CompanyEvent.Type | None = None
) -> CompanyEvent | None:
    """The forwarder's event for ``event`` (its type from EVENT_TYPES unless given), not yet saved, or None
    for a kind without a forwarder meaning; ``declaration.event_seq`` moves (the lifecycle saves it with
    the chain's head). An event of a company without an active webhook subscription has nothing to fan
    out: it is written as fanned out already (it is still in the company's feed)."""
    event_type = type or EVENT_TYPES.get(event.event)
    if event_type is None:
        return None
    if type is None and event.event == Kind.CHECK_FINISHED and event.data.get("ignored"):
        return None  # the result of a check for a version since amended changes nothing for the forwarder
    return outbox_row(declaration, event, type=event_type)


def outbox_row(declaration: Declaration, event: DeclarationEvent, *, type: CompanyEvent.Type) -> CompanyEvent:
    """The forwarder's event of ``type`` for ``event``, unsaved; ``declaration.event_seq`` moves."""
    declaration.event_seq += 1
    return CompanyEvent(
        company_id=declaration.company_id,
        type=type,
        declaration_id=declaration.id,
        reference=declaration.reference,
        seq=declaration.event_seq,
        data=event_payload_data(declaration, event, seq=declaration.event_seq),
        created_at=event.at,
        fanned_out_at=None if declaration.company_id in company_ids_with_subscriptions() else event.at,
    )


def outbox_send_on_commit(rows: list[CompanyEvent]) -> None:
    """After commit, write and send the saved events' webhook deliveries (one fan-out task per event, by
    task name), but for events with nothing to fan out; the webhooks sweep catches any the broker missed."""
    event_ids = [row.id for row in rows if row.fanned_out_at is None]
    if len(event_ids) == 1:
        event_id = event_ids[0]
        transaction.on_commit(lambda: task_send(WEBHOOK_FAN_OUT_TASK, queue=WEBHOOKS_QUEUE, args=[event_id]))
    elif event_ids:
        sends = [(WEBHOOK_FAN_OUT_TASK, WEBHOOKS_QUEUE, [event_id]) for event_id in event_ids]
        transaction.on_commit(lambda: tasks_send(sends))
