"""The one door for every change of a declaration: its status, its stage and its audit trail.

One keyword-only function per transition. Topic services (declarations, checks, inspections, slots,
yard, dispatch, gate, fees) decide *what* happens; they lock the declaration row (``select_for_update``)
to read it, then call the function here for the change itself. Each function, inside the caller's
transaction:

1. checks the move against the model's transition tables (``Declaration.TRANSITIONS`` and
   ``STAGE_TRANSITIONS``; ``TransitionNotAllowed`` otherwise),
2. writes the change,
3. appends the audit event (a typed ``DeclarationEvent.Kind``) and, beside it, the forwarder's event
   (``clearance.services.outbox``, for the kinds that mean something to the forwarder),
4. registers its follow-ups with ``transaction.on_commit`` (checks to run, a dispatch to try).

Steps 2 and 3 are one statement on PostgreSQL (``_flush``: each write a data-modifying CTE): the
declaration's UPDATE, the audit and forwarder's events, and the rows and updates the transition adds (a
lane call, a fee, inspections, freed customs numbers). A transition's writes are held until its ``_save``
and sent there, so whatever it reads afterwards (a gate pass's facts) sees them written; inside
``batched`` they wait for the block's end.

So a transition's side effects live in exactly one place. Nothing else writes ``Declaration.status``,
``Declaration.stage`` or a ``DeclarationEvent`` (tests/clearance/test_architecture.py holds that).

To add a transition: add the state to the model's tables, write its function here, call it from the
topic service that decides it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F, Model, QuerySet
from django.db.models.functions import Greatest
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from clearance import audit_chain
from clearance.audit import Actor
from clearance.models import (
    ArrivalSlot,
    Check,
    CompanyEvent,
    Container,
    CrossingLeg,
    CustomsDeclaration,
    Declaration,
    DeclarationEvent,
    Fee,
    GateDecision,
    Handover,
    Inspection,
    LaneCall,
    TransitionNotAllowed,
)
from clearance.services.enqueue import checks_enqueue_on_commit, dispatch_soon
from clearance.services.gate_passes import gate_pass_issue_if_due, gate_passes_revoke
from clearance.services.outbox import EVENT_TYPES, outbox_event, outbox_row, outbox_send_on_commit
from clearance.services.tariffs import fee_create_with_clearance
from vehicles.bulk import insert_params, insert_shape, rows_insert
from vehicles.models import Lane, Yard

Kind = DeclarationEvent.Kind
Status = Declaration.Status
Stage = Declaration.Stage


@dataclass
class _Batch:
    """What a transition (or a batched run of them, see ``batched``) has yet to write: rows to insert (the
    audit events, the forwarder's events, rows a transition adds), other statements, and the declaration's
    changed fields."""

    rows: list[Model] = field(default_factory=list)
    statements: list[tuple[str, tuple]] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)
    explicit: bool = False  # opened by ``batched``: written at the block's end, not at each ``_save``


# The open batch of a declaration instance, if any (an attribute of the instance: it cannot outlive it).
_BATCH_ATTRIBUTE = "_lifecycle_batch"


@contextmanager
def batched(declaration: Declaration, *, also: Iterable[tuple[str, tuple]] = ()) -> Iterator[None]:
    """Run several transitions of one locked declaration and write them together, in one statement on
    PostgreSQL: the audit events, the forwarder's events, the declaration's changed fields and ``also``
    (the caller's ``(sql, params)`` UPDATEs, as ``update_statement`` builds them: a check's outcome). A
    check's start and finish and the decision it completes cost one write, not three per transition. Each
    transition is
    still checked and chained in order; nothing is written if the block raises."""
    batch = _batch_of(declaration)
    if batch is not None and batch.explicit:
        batch.statements += also
        yield  # an outer block writes everything
        return
    batch = batch or _Batch()
    batch.explicit = True
    batch.statements += also
    setattr(declaration, _BATCH_ATTRIBUTE, batch)
    try:
        yield
    finally:
        setattr(declaration, _BATCH_ATTRIBUTE, None)
    _flush(declaration, batch)


def _batch_of(declaration: Declaration) -> _Batch | None:
    return getattr(declaration, _BATCH_ATTRIBUTE, None)


def _pending(declaration: Declaration) -> _Batch:
    """The batch the transition under way adds its writes to: the open ``batched`` block's, else one of
    its own, written by its ``_save`` (so a transition costs one statement, and what it reads afterwards,
    a gate pass's facts, sees it written)."""
    batch = _batch_of(declaration)
    if batch is None:
        batch = _Batch()
        setattr(declaration, _BATCH_ATTRIBUTE, batch)
    return batch


def written_with_next_change(declaration: Declaration, *rows: Model) -> None:
    """Unsaved rows (a device's movement) written with the declaration's next transition, in its statement;
    call inside the transaction, just before the transition."""
    _pending(declaration).rows.extend(rows)


def update_statement(queryset: QuerySet, **values) -> tuple[str, tuple]:
    """The SQL of ``queryset.update(**values)``, not run: for ``batched``'s ``also``."""
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    query.annotations = {}
    compiler = query.get_compiler(queryset.db)
    compiler.pre_sql_setup()  # a filter across a relation becomes a subquery, as in QuerySet.update
    return compiler.as_sql()


def _defer_update(declaration: Declaration, queryset: QuerySet, **values) -> None:
    """``queryset.update(**values)``, written with the transition's other writes."""
    _pending(declaration).statements.append(update_statement(queryset, **values))


def _flush(declaration: Declaration, batch: _Batch) -> None:
    """Write what ``batch`` holds: on PostgreSQL in one statement (each write a data-modifying CTE, the new
    rows' ids returned), elsewhere one statement per table."""
    rows, statements, fields = batch.rows, batch.statements, sorted(batch.fields)
    if not (rows or statements or fields):
        return
    groups: dict[type, list[Model]] = {}
    for row in rows:
        groups.setdefault(type(row), []).append(row)
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
        for model, group in groups.items():
            model.objects.bulk_create(group)
        if fields:
            declaration.save(update_fields=fields)
    else:
        ctes, params = [], []
        for index, (sql, statement_params) in enumerate(statements):
            ctes.append(f"s{index} AS ({sql})")
            params += statement_params
        if fields:
            sql, update_params = _update_declaration_sql(declaration, fields)
            ctes.append(f"d AS ({sql})")
            params += update_params
        selects = []
        for index, group in enumerate(groups.values()):
            sql, insert_params = _insert_rows_sql(group)
            ctes.append(f"i{index} AS ({sql})")
            params += insert_params
            selects.append(f"SELECT {index} AS g, id FROM i{index}")
        returned = " UNION ALL ".join(selects) + " ORDER BY 1, 2" if selects else "SELECT NULL, NULL"
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {', '.join(ctes)} {returned}", params)
            ids: dict[int, list[int]] = {}
            for index, row_id in cursor.fetchall():
                if index is not None:
                    ids.setdefault(index, []).append(row_id)
        for index, group in enumerate(groups.values()):
            for row, row_id in zip(group, ids[index], strict=True):
                row.id = row_id
                row._state.adding, row._state.db = False, connection.alias
    company_events = groups.get(CompanyEvent)
    if company_events:
        outbox_send_on_commit(company_events)


def _update_declaration_sql(declaration: Declaration, fields: list[str]) -> tuple[str, list]:
    quote = connection.ops.quote_name
    assignments, params = [], []
    for name in fields:
        model_field = Declaration._meta.get_field(name)
        assignments.append(f"{quote(model_field.column)} = %s")
        params.append(model_field.get_db_prep_save(model_field.pre_save(declaration, add=False), connection))
    params.append(declaration.id)
    return f"UPDATE {quote(Declaration._meta.db_table)} SET {', '.join(assignments)} WHERE id = %s", params


def _insert_parts(rows: list[Model]) -> tuple[str, str, str, list]:
    """(table, columns, one row's placeholders, every row's parameters) to insert unsaved rows of one
    model, their ids and database defaults left to PostgreSQL."""
    _fields, table, columns, placeholders = insert_shape(type(rows[0]))
    return table, columns, placeholders, insert_params(rows)


def _insert_rows_sql(rows: list[Model]) -> tuple[str, list]:
    """``INSERT INTO <table> (<columns>) VALUES (…), … RETURNING id`` for unsaved rows of one model."""
    table, columns, placeholders, params = _insert_parts(rows)
    values = ", ".join([f"({placeholders})"] * len(rows))
    return f"INSERT INTO {table} ({columns}) VALUES {values} RETURNING id", params


def _insert_sql(row) -> tuple[str, list]:
    """``INSERT INTO <table> (<columns>) SELECT <values> FROM moved RETURNING id`` for an unsaved row; the
    row is written only if ``moved`` has a row."""
    table, columns, placeholders, params = _insert_parts([row])
    return f"INSERT INTO {table} ({columns}) SELECT {placeholders} FROM moved RETURNING id", params


def _move_stage_with_events(
    declaration: Declaration, *fields: str, expected_stage: str, expected_seq: int, events: list[DeclarationEvent]
) -> None:
    """The hot paths' write: the declaration's stage (and ``fields``) moved by one conditional UPDATE,
    which holds only if the row is still at ``expected_stage`` and ``expected_seq`` (nothing changed it
    since it was read), with its audit events and the forwarder's events appended. On PostgreSQL it is one
    statement (the inserts are data-modifying CTEs that write only if the UPDATE did); elsewhere one per
    row. Raises TransitionNotAllowed if the row had moved on."""
    outbox_rows = [row for row in (outbox_event(declaration, event) for event in events) if row is not None]
    pending = _batch_of(declaration)
    if pending is not None and (pending.explicit or pending.statements or pending.fields):
        raise RuntimeError("A stage move is its own statement: it cannot join a batch of other writes.")
    added = pending.rows if pending is not None else []  # ``written_with_next_change``
    setattr(declaration, _BATCH_ATTRIBUTE, None)
    rows = [*events, *outbox_rows, *added]
    update_fields = [*fields, "audit_seq", "audit_head", "event_seq", "updated_at"]
    if connection.vendor != "postgresql":
        moved = Declaration.objects.filter(id=declaration.id, stage=expected_stage, audit_seq=expected_seq).update(
            **{name: getattr(declaration, name) for name in update_fields}
        )
        if moved != 1:
            raise TransitionNotAllowed(field="stage", current=expected_stage, target=declaration.stage)
        for row in rows:
            row.save(force_insert=True)
    else:
        quote = connection.ops.quote_name
        assignments, params = [], []
        for name in update_fields:
            field = Declaration._meta.get_field(name)
            assignments.append(f"{quote(field.column)} = %s")
            params.append(field.get_db_prep_save(field.pre_save(declaration, add=False), connection))
        ctes = [
            f"moved AS (UPDATE {quote(Declaration._meta.db_table)} SET {', '.join(assignments)} "
            "WHERE id = %s AND stage = %s AND audit_seq = %s RETURNING id)"
        ]
        params += [declaration.id, expected_stage, expected_seq]
        for index, row in enumerate(rows):
            insert, insert_params = _insert_sql(row)
            ctes.append(f"row{index} AS ({insert})")
            params += insert_params
        ids = ", ".join(f"(SELECT id FROM row{index})" for index in range(len(rows)))
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {', '.join(ctes)} SELECT {ids} FROM moved", params)
            written = cursor.fetchone()
        if written is None:
            raise TransitionNotAllowed(field="stage", current=expected_stage, target=declaration.stage)
        for row, row_id in zip(rows, written, strict=True):
            row.id = row_id
            row._state.adding = False
    outbox_send_on_commit(outbox_rows)


def _record(
    declaration: Declaration,
    *,
    actor: Actor,
    kind: DeclarationEvent.Kind,
    reason: str = "",
    data: dict | None = None,
    version: int | None = None,
    at: datetime | None = None,
) -> DeclarationEvent:
    """Append one event to the declaration's audit trail, and the forwarder's event beside it (the outbox);
    ``version`` defaults to its current one, ``at`` to now. Both are written with the transition's change
    (``_save``), or with the ``batched`` block's writes."""
    _require_transaction()
    event = _event(declaration, actor=actor, kind=kind, reason=reason, data=data, version=version, at=at)
    _pending(declaration).rows.append(event)
    _outbox(declaration, event)
    return event


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        # The change and its event commit together or not at all; the caller holds the row lock.
        raise RuntimeError("A lifecycle transition must run inside the caller's transaction.")


def _event(
    declaration: Declaration,
    *,
    actor: Actor,
    kind: DeclarationEvent.Kind,
    reason: str = "",
    data: dict | None = None,
    version: int | None = None,
    at: datetime | None = None,
) -> DeclarationEvent:
    """The next event of the declaration's chain, unsaved; the chain's head moves on the declaration (saved
    with the change by ``_save`` or ``_save_head``)."""
    event = DeclarationEvent(
        declaration=declaration,
        at=at or timezone.now(),
        actor_kind=actor.kind,
        actor=actor.name,
        user_id=actor.user_id,
        event=kind,
        reason=reason,
        version=version or declaration.version,
        data=data or {},
        seq=declaration.audit_seq + 1,
        prev_hash=declaration.audit_head or audit_chain.GENESIS,
    )
    event.hash = audit_chain.link(event.prev_hash, audit_chain.content_of(event))
    declaration.audit_seq, declaration.audit_head = event.seq, event.hash
    return event


def _outbox(declaration: Declaration, event: DeclarationEvent, *, type: CompanyEvent.Type | None = None) -> None:
    row = outbox_event(declaration, event, type=type)
    if row is not None:
        _pending(declaration).rows.append(row)


def _save(declaration: Declaration, *fields: str) -> None:
    """Save the changed fields with the audit chain's head, in one UPDATE (or the batch's)."""
    _write(declaration, [*fields, "audit_seq", "audit_head", "event_seq", "updated_at"])


def _save_head(declaration: Declaration) -> None:
    """An event that changes nothing else: only the chain's head moves."""
    _write(declaration, ["audit_seq", "audit_head", "event_seq"])


def _write(declaration: Declaration, fields: list[str]) -> None:
    """The transition's change is complete: written now with its events (one statement), or added to the
    open ``batched`` block's."""
    batch = _pending(declaration)
    batch.fields.update(fields)
    if not batch.explicit:
        setattr(declaration, _BATCH_ATTRIBUTE, None)
        _flush(declaration, batch)


def _free_slot_place(declaration: Declaration) -> None:
    """Give the declaration's slot place back to other forwarders (the caller saves ``slot``)."""
    _defer_update(declaration, ArrivalSlot.objects.filter(id=declaration.slot_id), booked=Greatest(F("booked") - 1, 0))
    declaration.slot = None


def _free_customs_numbers(declaration: Declaration) -> None:
    """An inactive crossing no longer holds its customs declaration numbers nor its containers."""
    _defer_update(declaration, CustomsDeclaration.objects.filter(declaration=declaration), is_active=False)
    _defer_update(declaration, Container.objects.filter(declaration=declaration), is_active=False)


def _void_fee(declaration: Declaration) -> str | None:
    """A cancelled crossing's fee is void if unpaid, owed back if paid (its e-ticket no longer opens
    anything). Returns the fee's new status, if it had one."""
    for current, void in ((Fee.Status.ISSUED, Fee.Status.VOIDED), (Fee.Status.PAID, Fee.Status.REFUND_DUE)):
        if Fee.objects.filter(declaration=declaration, status=current).update(status=void):
            return void
    return None


def _withdraw_gate_pass(declaration: Declaration, kind: DeclarationEvent.Kind) -> None:
    """A called vehicle whose call, clearance or fee no longer stands loses its signed gate pass: lane
    devices see it in the revocation list (a pass is only ever issued to a called vehicle)."""
    if declaration.stage == Stage.CALLED:
        gate_passes_revoke(declaration=declaration, reason=kind)


# --- Submission and checks -------------------------------------------------------------------------


def declaration_submitted(*, declaration: Declaration, actor: Actor, fields: Iterable[str] = ()) -> None:
    """A new declaration (status submitted, stage expected) was written; ``fields`` the caller set on it
    since (its reference), saved with the chain's head."""
    _record(declaration, actor=actor, kind=Kind.SUBMITTED)
    _save(declaration, *fields)


def declarations_submitted(
    *,
    declarations: list[Declaration],
    checks: list[list[Check]],
    event_ids: list[int],
    actor: Actor,
    rows: list[tuple[list, bool]],
) -> None:
    """New declarations, built but not written, their ids allocated, with their checks (one list per
    declaration) and the ids of their forwarder's events: each is submitted and its checks started, as
    ``declaration_submitted`` then ``checks_started`` would do it (the same two audit events, the
    forwarder's ``declaration.created``, status checking), and everything is written at once, with
    ``rows`` (the caller's lines and registry facts): one statement whatever the number of declarations
    (vehicles.bulk.rows_insert). Every check is sent after commit, once."""
    _require_transaction()
    events, outbox_rows = [], []
    for declaration, its_checks, event_id in zip(declarations, checks, event_ids, strict=True):
        submitted = _event(declaration, actor=actor, kind=Kind.SUBMITTED)
        created = outbox_row(declaration, submitted, type=EVENT_TYPES[Kind.SUBMITTED])
        created.id = event_id
        declaration.transition(to=Status.CHECKING)
        started = _event(
            declaration, actor=actor, kind=Kind.CHECKS_STARTED, data={"checks": [check.kind for check in its_checks]}
        )
        events += [submitted, started]
        outbox_rows.append(created)
    all_checks = [check for its_checks in checks for check in its_checks]
    rows_insert([([*declarations], False), *rows, (all_checks, False), (events, False), (outbox_rows, False)])
    # The forwarder hears of the declaration before any of its checks' results (a receiver applies events
    # in the order they arrive, and the feed lists them in this order).
    outbox_send_on_commit(outbox_rows)
    checks_enqueue_on_commit((check.id, check.kind) for check in all_checks)


def declaration_amended(
    *, declaration: Declaration, actor: Actor, changed: Iterable[str], fields: Iterable[str], fee_withdrawn: bool
) -> None:
    """The forwarder amended the declaration; ``fields`` are those the caller changed on the instance,
    saved here with the new version. It goes back to submitted, to be checked afresh."""
    _withdraw_gate_pass(declaration, Kind.AMENDED)
    if declaration.status != Status.SUBMITTED:
        declaration.transition(to=Status.SUBMITTED)
    declaration.version += 1
    _record(
        declaration,
        actor=actor,
        kind=Kind.AMENDED,
        data={"changed": sorted(changed), **({"fee_withdrawn": True} if fee_withdrawn else {})},
    )
    _save(declaration, "status", "version", *fields)


def checks_started(*, declaration: Declaration, actor: Actor, checks: list[Check]) -> None:
    """The current version's checks were written (the outbox): the declaration is checking, its former
    channel no longer stands, and one task per check is sent after commit."""
    declaration.transition(to=Status.CHECKING)
    declaration.channel = ""
    _record(declaration, actor=actor, kind=Kind.CHECKS_STARTED, data={"checks": [check.kind for check in checks]})
    _save(declaration, "status", "channel")
    checks_enqueue_on_commit((check.id, check.kind) for check in checks)


def check_started(*, declaration: Declaration, check: Check, actor: Actor) -> None:
    """A check's run took it (recorded with its outcome, in the same transaction, at the time it started)."""
    _record(
        declaration,
        actor=actor,
        kind=Kind.CHECK_STARTED,
        version=check.version,
        data={"check": check.kind, "attempt": check.attempts},
        at=check.started_at,
    )
    _save_head(declaration)


def check_decided(*, declaration: Declaration, check: Check, actor: Actor) -> None:
    """A check's outcome (or its failure) was recorded. A result for an older version is kept in the
    trail and changes nothing; the customs check of the current version sets the channel."""
    current = check.version == declaration.version
    if check.status == Check.Status.FAILED:
        data = {"check": check.kind, "error": check.reasons[0]["message"] if check.reasons else ""}
        _record(declaration, actor=actor, kind=Kind.CHECK_FAILED, version=check.version, data=data)
        _save_head(declaration)
        return
    _record(
        declaration,
        actor=actor,
        kind=Kind.CHECK_FINISHED,
        version=check.version,
        data={"check": check.kind, "outcome": check.outcome, "reasons": check.reasons, "ignored": not current},
    )
    # An empty return's customs check is "not required": it gives no channel.
    if current and check.kind == Check.Kind.CUSTOMS and check.outcome in Declaration.Channel.values:
        declaration.channel = check.outcome
        _save(declaration, "channel")
    else:
        _save_head(declaration)


def declaration_customs_changed(*, declaration: Declaration, actor: Actor, reason: str, data: dict) -> bool:
    """The customs system changed a VNACCS declaration this crossing carries. Before the lane it is
    checked again as a new version (the caller starts the checks): back to submitted, and a called
    vehicle goes back to the yard's queue at its place, not called while it is checked. In a lane it is
    held for an officer. Returns True when it is to be checked again, False when it was held."""
    _withdraw_gate_pass(declaration, Kind.CUSTOMS_CHANGED)
    if declaration.stage == Stage.IN_LANE:
        declaration.transition(to=Status.HELD)
        _record(declaration, actor=actor, kind=Kind.CUSTOMS_CHANGED, reason=reason, data=data)
        _record(declaration, actor=actor, kind=Kind.HELD, reason=reason)
        _save(declaration, "status")
        return False
    if declaration.stage == Stage.CALLED:
        declaration.move_to_stage(to=Stage.IN_YARD)
        declaration.lane = None
        declaration.called_at = None
    if declaration.status != Status.SUBMITTED:
        declaration.transition(to=Status.SUBMITTED)
    declaration.version += 1
    _record(declaration, actor=actor, kind=Kind.CUSTOMS_CHANGED, reason=reason, data=data)
    _save(declaration, "status", "stage", "lane", "called_at", "version")
    return True


# --- Decisions ---------------------------------------------------------------------------------------


def declaration_cleared(
    *, declaration: Declaration, actor: Actor, reason: str, data: dict | None = None, released: bool = False
) -> None:
    """Cleared (by the checks, the last inspection, or a supervisor's release of a held crossing): the
    fee is issued with it, and a vehicle already waiting in a yard may now be called. A release tells
    the forwarder both: ``declaration.cleared`` and ``declaration.released``."""
    declaration.transition(to=Status.CLEARED)
    event = _record(declaration, actor=actor, kind=Kind.CLEARED, reason=reason, data=data)
    if released:
        _outbox(declaration, event, type=CompanyEvent.Type.DECLARATION_RELEASED)
    _save(declaration, "status")
    fee = fee_create_with_clearance(declaration=declaration)
    if fee is not None:
        _pending(declaration).rows.append(fee)
        Declaration.fee.related.set_cached_value(declaration, fee)
        fee_issued(declaration=declaration, fee=fee, actor=actor)
    gate_pass_issue_if_due(declaration=declaration)  # cleared at a bay lane it was called to, fee paid
    if declaration.is_waiting:
        dispatch_soon()


def declaration_released(*, declaration: Declaration, actor: Actor, reason: str) -> None:
    """A supervisor releases a held crossing: it is cleared, with the supervisor's reason."""
    declaration_cleared(declaration=declaration, actor=actor, reason=reason, released=True)


def declaration_inspection_required(
    *,
    declaration: Declaration,
    actor: Actor,
    reason: str,
    data: dict | None = None,
    inspections: Iterable[Inspection] = (),
) -> None:
    """Officers must inspect: ``inspections`` (unsaved) are written with the change, or the caller has
    written them. A cleared vehicle whose weight disagrees with its declaration comes back here too."""
    _withdraw_gate_pass(declaration, Kind.INSPECTION_REQUIRED)
    if declaration.status != Status.INSPECTION:
        declaration.transition(to=Status.INSPECTION)
    _pending(declaration).rows.extend(inspections)
    _record(declaration, actor=actor, kind=Kind.INSPECTION_REQUIRED, reason=reason, data=data)
    _save(declaration, "status")
    if declaration.is_waiting:
        dispatch_soon()  # a lane with an inspection bay may take it


def inspection_recorded(*, declaration: Declaration, inspection: Inspection, actor: Actor) -> None:
    kind = Kind.INSPECTION_PASSED if inspection.status == Inspection.Status.PASSED else Kind.INSPECTION_FAILED
    _record(
        declaration,
        actor=actor,
        kind=kind,
        reason=inspection.notes,
        data=dict(inspection=inspection.id, force=inspection.force),
    )
    _save_head(declaration)


def declaration_held(*, declaration: Declaration, actor: Actor, reason: str) -> None:
    """A failed inspection holds the crossing for a supervisor to release or reject."""
    _withdraw_gate_pass(declaration, Kind.HELD)
    declaration.transition(to=Status.HELD)
    _record(declaration, actor=actor, kind=Kind.HELD, reason=reason)
    _save(declaration, "status")


def declaration_rejected(*, declaration: Declaration, actor: Actor, reason: str, data: dict | None = None) -> None:
    """A check denied the crossing, or a supervisor rejected a held one. The forwarder may amend."""
    declaration.transition(to=Status.REJECTED)
    _record(declaration, actor=actor, kind=Kind.REJECTED, reason=reason, data=data)
    _save(declaration, "status")


def declaration_cancelled(*, declaration: Declaration, actor: Actor, reason: str) -> None:
    """The forwarder cancels before the lane: the slot place goes back to others, a vehicle in the yard
    or called leaves the queue (and its call), and the vehicle and customs numbers are free again."""
    _withdraw_gate_pass(declaration, Kind.CANCELLED)
    if not declaration.is_before_lane:
        raise TransitionNotAllowed(field="stage", current=declaration.stage, target=Status.CANCELLED)
    declaration.transition(to=Status.CANCELLED)
    if declaration.slot_id is not None:
        _free_slot_place(declaration)
    if declaration.stage in (Stage.IN_YARD, Stage.CALLED):
        declaration.move_to_stage(to=Stage.TURNED_BACK)
        declaration.lane = None
    _free_customs_numbers(declaration)
    fee = _void_fee(declaration)
    _record(declaration, actor=actor, kind=Kind.CANCELLED, reason=reason, data={"fee": fee} if fee else None)
    _save(declaration, "status", "stage", "lane", "slot")


# --- Slots -------------------------------------------------------------------------------------------


def slot_booked(*, declaration: Declaration, slot: ArrivalSlot, actor: Actor) -> None:
    """A place in ``slot`` (locked by the caller, with room) is taken; a held place in another slot is
    given back. Every booking after the first counts as a move, released in between or not."""
    moving = declaration.slot_id is not None
    if moving:
        _free_slot_place(declaration)
    if declaration.slot_bookings:
        declaration.slot_moves += 1
    declaration.slot_bookings += 1
    ArrivalSlot.objects.filter(id=slot.id).update(booked=F("booked") + 1)
    slot.booked += 1
    declaration.slot = slot
    _record(
        declaration,
        actor=actor,
        kind=Kind.SLOT_MOVED if moving else Kind.SLOT_BOOKED,
        data={"starts_at": slot.starts_at.isoformat()},
    )
    _save(declaration, "slot", "slot_moves", "slot_bookings")


def slot_released(*, declaration: Declaration, actor: Actor) -> None:
    _free_slot_place(declaration)
    _record(declaration, actor=actor, kind=Kind.SLOT_RELEASED)
    _save(declaration, "slot")


def slot_no_show(*, declaration: Declaration, actor: Actor, reason: str) -> None:
    """The vehicle did not arrive for its slot: the place goes back (the company's count is the caller's)."""
    _free_slot_place(declaration)
    _record(declaration, actor=actor, kind=Kind.SLOT_NO_SHOW, reason=reason)
    _save(declaration, "slot")


# --- The yard, the lanes, the border -----------------------------------------------------------------


def declaration_arrived(
    *,
    declaration: Declaration,
    actor: Actor,
    yard: Yard,
    arrived_at: datetime,
    queue_class: int,
    source: str,
    held_until: datetime | None = None,
) -> None:
    """The vehicle entered a yard and joins its queue. Arrived before its pre-arrival notice had run
    (``held_until``), it waits there, not called, until then or until an officer waives the hold. One
    conditional UPDATE with its events (a yard camera's hot path)."""
    _require_transaction()
    expected_stage, seq = declaration.stage, declaration.audit_seq
    declaration.move_to_stage(to=Stage.IN_YARD)
    declaration.yard = yard
    declaration.arrived_at = arrived_at
    declaration.queue_class = queue_class
    declaration.arrival_held_until = held_until
    events = [
        _event(
            declaration,
            actor=actor,
            kind=Kind.ARRIVED_IN_YARD,
            data={"yard": yard.code, "queue_class": queue_class, "source": source},
        )
    ]
    if held_until is not None:
        events.append(
            _event(
                declaration,
                actor=actor,
                kind=Kind.ARRIVAL_HELD,
                reason=(
                    f"Arrived before the pre-arrival notice had run; not called to a lane before "
                    f"{held_until.isoformat()} unless an officer waives the hold."
                ),
                data={"code": "arrived_before_notice", "held_until": held_until.isoformat()},
            )
        )
    _move_stage_with_events(
        declaration,
        "stage",
        "yard",
        "arrived_at",
        "queue_class",
        "arrival_held_until",
        expected_stage=expected_stage,
        expected_seq=seq,
        events=events,
    )
    dispatch_soon()


def arrival_hold_waived(*, declaration: Declaration, actor: Actor, reason: str) -> None:
    """An officer lets a vehicle that arrived early be called now; the reason is kept."""
    waived_until = declaration.arrival_held_until
    declaration.arrival_held_until = None
    _record(
        declaration,
        actor=actor,
        kind=Kind.ARRIVAL_HOLD_WAIVED,
        reason=reason,
        data={"held_until": waived_until.isoformat() if waived_until else None},
    )
    _save(declaration, "arrival_held_until")
    dispatch_soon()


def declaration_called(*, declaration: Declaration, actor: Actor, lane: Lane, at: datetime) -> None:
    """Called forward to ``lane``; the call is logged for the lane's hourly capacity."""
    declaration.move_to_stage(to=Stage.CALLED)
    declaration.lane = lane
    declaration.called_at = at
    _pending(declaration).rows.append(LaneCall(lane=lane, declaration=declaration, called_at=at))
    _record(declaration, actor=actor, kind=Kind.CALLED, data={"lane": lane.code})
    _save(declaration, "stage", "lane", "called_at")
    gate_pass_issue_if_due(declaration=declaration)


def declaration_recalled(*, declaration: Declaration, actor: Actor, reason: str) -> None:
    """A called vehicle did not reach its lane in time: back to the queue at its place (its arrival time
    is kept), the miss counted on the call and the declaration."""
    _withdraw_gate_pass(declaration, Kind.CALL_MISSED)
    LaneCall.objects.filter(
        declaration=declaration, lane_id=declaration.lane_id, called_at=declaration.called_at
    ).update(missed=True)
    declaration.move_to_stage(to=Stage.IN_YARD)
    declaration.lane = None
    declaration.called_at = None
    declaration.call_misses += 1
    _record(declaration, actor=actor, kind=Kind.CALL_MISSED, reason=reason)
    _save(declaration, "stage", "lane", "called_at", "call_misses")


def declaration_call_withdrawn(*, declaration: Declaration, actor: Actor, reason: str) -> None:
    """The lane a vehicle was called to closed: back to the queue at its place (its arrival time is kept),
    and not counted as its miss; the dispatcher calls it again to an open lane."""
    _withdraw_gate_pass(declaration, Kind.CALL_WITHDRAWN)
    declaration.move_to_stage(to=Stage.IN_YARD)
    lane = declaration.lane
    declaration.lane = None
    declaration.called_at = None
    _record(declaration, actor=actor, kind=Kind.CALL_WITHDRAWN, reason=reason, data={"lane": lane.code})
    _save(declaration, "stage", "lane", "called_at")
    dispatch_soon()


def declaration_turned_back(*, declaration: Declaration, actor: Actor, reason: str) -> None:
    """Sent away from the gate: it leaves the queue or the lane, and frees its vehicle, its slot place and
    its customs numbers; the lane or queue it leaves may take another vehicle."""
    _withdraw_gate_pass(declaration, Kind.TURNED_BACK)
    declaration.move_to_stage(to=Stage.TURNED_BACK)
    if declaration.slot_id is not None:
        _free_slot_place(declaration)
    declaration.lane = None
    _free_customs_numbers(declaration)
    _record(declaration, actor=actor, kind=Kind.TURNED_BACK, reason=reason)
    _save(declaration, "stage", "lane", "slot")
    dispatch_soon()


def declaration_entered_lane(
    *, declaration: Declaration, actor: Actor, lane: Lane, at: datetime, decision: GateDecision, offline: bool = False
) -> None:
    """The barrier opened (the hot path): the stage moves by one conditional UPDATE, with the audit event
    and the forwarder's event, in one statement. ``offline``: the lane's controller opened it on a signed
    gate pass while the centre was unreachable, and this is its upload."""
    _require_transaction()
    called, seq = declaration.stage, declaration.audit_seq
    declaration.move_to_stage(to=Stage.IN_LANE)
    declaration.in_lane_at = at
    data = {"lane": lane.code, "decision": decision.id, **({"offline": True} if offline else {})}
    event = _event(declaration, actor=actor, kind=Kind.ENTERED_LANE, data=data)
    _move_stage_with_events(declaration, "stage", "in_lane_at", expected_stage=called, expected_seq=seq, events=[event])


def declaration_crossed(*, declaration: Declaration, actor: Actor, lane: Lane, at: datetime) -> None:
    """The border-line camera saw the vehicle cross: the crossing is complete and the lane has room."""
    declaration.move_to_stage(to=Stage.CROSSED)
    declaration.crossed_at = at
    _free_customs_numbers(declaration)
    _record(declaration, actor=actor, kind=Kind.CROSSED, data={"lane": lane.code, "dwell": declaration.dwell_times()})
    _save(declaration, "stage", "crossed_at")
    dispatch_soon()


# --- Facts recorded about a declaration --------------------------------------------------------------


def declaration_weighed(
    *, declaration: Declaration, actor: Actor, measured_kg: int, declared_kg, within_tolerance: bool
) -> None:
    _record(
        declaration,
        actor=actor,
        kind=Kind.WEIGHED,
        data={
            "measured_kg": measured_kg,
            "declared_kg": str(declared_kg) if declared_kg else None,
            "within_tolerance": within_tolerance,
        },
    )
    _save_head(declaration)


def leg_arrived(*, declaration: Declaration, actor: Actor, leg: CrossingLeg, yard: Yard) -> None:
    """An earlier leg's vehicle reached its transfer point (the caller stamped ``leg.arrived_at``)."""
    _record(
        declaration,
        actor=actor,
        kind=Kind.LEG_ARRIVED,
        data={"leg": leg.seq, "plate": leg.vehicle.plate, "transfer_point": yard.code},
    )
    _save_head(declaration)


def handover_recorded(*, declaration: Declaration, actor: Actor, handover: Handover) -> None:
    """Containers were handed over to the declaration's vehicle. As declared, the onward vehicle may be
    called (a hold for an earlier mismatch ends); otherwise it is held, with its own reason code, until a
    hand-over matches: the dispatcher does not call it and the barrier holds it (``handover_mismatch``)."""
    was_held = declaration.handover_status == Declaration.HandoverStatus.MISMATCH
    declaration.handover_status = (
        Declaration.HandoverStatus.MATCHED if handover.matched else Declaration.HandoverStatus.MISMATCH
    )
    data = {"from": handover.from_plate, "containers": handover.containers, "matched": handover.matched}
    if handover.leg_id is not None:
        data["leg"] = handover.leg.seq
    if handover.matched and was_held:
        data["hold_ended"] = True
    _record(declaration, actor=actor, kind=Kind.HANDOVER, data=data)
    if not handover.matched:
        _record(
            declaration,
            actor=actor,
            kind=Kind.HANDOVER_MISMATCH,
            reason=handover.mismatch_in_words(),
            data={
                "code": GateDecision.HoldReason.HANDOVER_MISMATCH,
                "missing": handover.missing,
                "unexpected": handover.unexpected,
                **({"from_vehicle_not_declared": True} if handover.wrong_vehicle else {}),
            },
        )
    _save(declaration, "handover_status")
    if handover.matched and declaration.is_waiting:
        dispatch_soon()


def fee_issued(*, declaration: Declaration, fee: Fee, actor: Actor) -> None:
    _record(declaration, actor=actor, kind=Kind.FEE_ISSUED, data={"amount_vnd": fee.amount_vnd, **fee.breakdown})
    _save_head(declaration)


def fee_paid(*, declaration: Declaration, actor: Actor, payment_id: str, amount_vnd: int) -> None:
    _record(declaration, actor=actor, kind=Kind.FEE_PAID, data={"payment": payment_id, "amount_vnd": amount_vnd})
    _save_head(declaration)
    gate_pass_issue_if_due(declaration=declaration)
