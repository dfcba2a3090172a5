"""The lane's offline decisions, uploaded when the centre is back, reconciled with the record.

A lane controller that cannot reach the centre decides alone from the signed gate passes and the
revocation list it synced (``smartgate.lane_agent``), keeps each decision, and uploads them here. Each is
recorded as the barrier decision it was (so the lane's record and audit chain are complete) and, for an
open, applied to the declaration through the lifecycle at the offline decision's own time, as if it had
been decided online, unless the record disagrees: then it is a conflict for an officer. Idempotent by the
controller's decision id: an upload sent twice changes nothing the second time.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from clearance import gate_pass
from clearance.audit import Actor
from clearance.errors import Conflict
from clearance.gate_pass_keys import key_ring
from clearance.models import (
    ACTIVE_DECLARATION,
    CROSSING_MOVEMENT,
    Declaration,
    GateDecision,
    GatePass,
    OfflineDecision,
)
from clearance.services import lifecycle
from vehicles.models import GateDevice, Movement
from vehicles.plates import normalize_plate

logger = logging.getLogger(__name__)
Stage = Declaration.Stage
Why = OfflineDecision.Conflict


@dataclass(frozen=True)
class OfflineRead:
    """One decision as the lane controller took it."""

    decision_id: uuid.UUID
    plate: str
    read_at: datetime
    confidence: Decimal
    decision: str  # GateDecision.Decision
    reasons: list[str]
    gate_pass: str = ""  # the pass token it opened on


@dataclass(frozen=True)
class Reconciled:
    offline: OfflineDecision
    replayed: bool


def offline_decisions_upload(*, device: GateDevice, reads: list[OfflineRead]) -> list[Reconciled]:
    """Reconcile a controller's decisions in the order they were taken (each in its own transaction:
    one that conflicts does not undo the others). Raises Conflict for a decision id another device used."""
    return [
        offline_decision_reconcile(device=device, read=read)
        for read in sorted(reads, key=lambda read: (read.read_at, str(read.decision_id)))
    ]


def offline_decision_reconcile(*, device: GateDevice, read: OfflineRead) -> Reconciled:
    existing = _already_uploaded(device=device, decision_id=read.decision_id)
    if existing is not None:
        return Reconciled(existing, replayed=True)
    try:
        with transaction.atomic():
            return Reconciled(_reconcile(device=device, read=read), replayed=False)
    except IntegrityError:
        # The same decision uploaded twice at once: the other upload recorded it.
        existing = _already_uploaded(device=device, decision_id=read.decision_id)
        if existing is None:
            raise
        return Reconciled(existing, replayed=True)


def _already_uploaded(*, device: GateDevice, decision_id: uuid.UUID) -> OfflineDecision | None:
    existing = OfflineDecision.objects.select_related("gate_decision", "declaration").filter(decision_id=decision_id)
    existing = existing.first()
    if existing is not None and existing.device_id != device.id:
        raise Conflict(f"Decision id {decision_id} was uploaded by another device.", code="decision_id_in_use")
    return existing


def _pass_of(token: str) -> tuple[dict | None, GatePass | None]:
    """The pass a controller opened on, if it is one the centre signed and issued."""
    if not token:
        return None, None
    try:
        payload = gate_pass.verify(token, key_ring().public_keys, kind=gate_pass.PASS)
    except gate_pass.InvalidToken:
        return None, None
    issued = GatePass.objects.filter(id=payload.get("pid"), token=token).first()
    return payload, issued


def _reconcile(*, device: GateDevice, read: OfflineRead) -> OfflineDecision:
    lane = device.lane
    normalized = normalize_plate(read.plate)
    payload, issued = _pass_of(read.gate_pass)
    if issued is not None:
        declaration = Declaration.objects.select_for_update().filter(id=issued.declaration_id).first()
    else:
        declaration = (
            Declaration.objects.select_for_update(of=("self",))
            .filter(ACTIVE_DECLARATION, vehicle__normalized_plate=normalized)
            .first()
        )
    decision = GateDecision.objects.create(
        device=device,
        lane=lane,
        plate_read=read.plate,
        normalized_plate=normalized,
        confidence=read.confidence,
        read_at=read.read_at,
        decision=read.decision,
        reasons=read.reasons,
        declaration=declaration,
    )
    offline = OfflineDecision(
        decision_id=read.decision_id,
        device=device,
        lane=lane,
        gate_decision=decision,
        declaration=declaration,
        gate_pass=issued,
        read_at=read.read_at,
        outcome=OfflineDecision.Outcome.RECORDED,
    )
    if read.decision == GateDecision.Decision.OPEN:
        conflict = _conflict(
            read=read, lane=lane, normalized=normalized, payload=payload, issued=issued, declaration=declaration
        )
        if conflict is None:
            _apply_open(declaration=declaration, device=device, decision=decision, read=read, normalized=normalized)
            offline.outcome = OfflineDecision.Outcome.APPLIED
        else:
            offline.outcome = OfflineDecision.Outcome.CONFLICT
            offline.conflict, offline.conflict_detail = conflict
            logger.warning(
                "offline.conflict",
                extra={"decision_id": str(read.decision_id), "conflict": offline.conflict, "lane": lane.code},
            )
    offline.save(force_insert=True)
    return offline


def _conflict(*, read, lane, normalized, payload, issued, declaration) -> tuple[str, str] | None:
    """Why an offline open cannot be applied as it was decided, or None."""
    if payload is None or issued is None or declaration is None:
        return Why.PASS_INVALID, "The barrier opened without a gate pass the centre signed and issued."
    if payload["plate"] != normalized:
        return Why.PASS_INVALID, f"The pass is for {payload['plate']}, the camera read {normalized}."
    if (payload["lane"] or lane.code) != lane.code or (payload["route"], payload["dir"]) != (
        lane.route.code,
        lane.current_direction,
    ):
        return Why.PASS_INVALID, f"The pass is for {payload['lane'] or payload['route']}, not {lane.code}."
    if not payload["nbf"] <= read.read_at.timestamp() <= payload["exp"]:
        return Why.PASS_INVALID, "The barrier opened outside the pass's validity."
    if issued.revoked_at is not None and issued.revoked_at <= read.read_at:
        return Why.PASS_REVOKED, (
            f"The pass was withdrawn ({issued.revoked_reason}) at {issued.revoked_at.astimezone(UTC).isoformat()}, "
            f"before the barrier opened at {read.read_at.astimezone(UTC).isoformat()}."
        )
    if declaration.stage in (Stage.IN_LANE, Stage.CROSSED):
        where = declaration.lane.code if declaration.lane_id else "?"
        return Why.ALREADY_THROUGH, f"{declaration.reference} had already entered lane {where} ({declaration.stage})."
    if (
        declaration.stage != Stage.CALLED
        or declaration.status != Declaration.Status.CLEARED
        or declaration.lane_id != lane.id
    ):
        return Why.MOVED_ON, (
            f"Since the barrier opened the centre moved {declaration.reference} on: it is now "
            f"{declaration.status}, {declaration.stage}."
        )
    return None


def _apply_open(*, declaration: Declaration, device: GateDevice, decision: GateDecision, read, normalized) -> None:
    """As the online open does, at the offline decision's time; and a border crossing the line camera saw
    meanwhile (unmatched then, because the centre did not know the vehicle was in the lane) completes it."""
    lane = device.lane
    actor = Actor.for_device(device)
    lifecycle.declaration_entered_lane(
        declaration=declaration, actor=actor, lane=lane, at=read.read_at, decision=decision, offline=True
    )
    Movement.objects.create(
        plate_read=read.plate,
        normalized_plate=normalized,
        kind=Movement.Kind.LANE_IN,
        lane=lane,
        occurred_at=read.read_at,
        source=device.source,
    )
    crossed = (
        Movement.objects.filter(
            normalized_plate=normalized,
            kind=CROSSING_MOVEMENT[declaration.direction],
            lane=lane,
            occurred_at__gte=read.read_at,
        )
        .order_by("occurred_at")
        .first()
    )
    if crossed is not None:
        lifecycle.declaration_crossed(declaration=declaration, actor=actor, lane=lane, at=crossed.occurred_at)


@transaction.atomic
def offline_conflict_review(*, offline_id: int, user, note: str) -> OfflineDecision:
    """An officer has looked at a conflict and says what was done about it (the note is kept)."""
    offline = OfflineDecision.objects.select_for_update().get(id=offline_id)
    if offline.outcome != OfflineDecision.Outcome.CONFLICT:
        raise Conflict("Only a conflict is reviewed.", code="not_a_conflict")
    offline.reviewed_at, offline.reviewed_by, offline.review_note = timezone.now(), user, note[:255]
    offline.save(update_fields=["reviewed_at", "reviewed_by", "review_note"])
    return offline
