"""Signed gate passes: issued when a declaration is cleared, called and paid, revoked when that stops being
true before the vehicle entered its lane. Called by the lifecycle (it is below it), so a pass follows every
transition that grants or withdraws it, wherever the transition comes from."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone

from clearance import gate_pass
from clearance.gate_pass_keys import key_ring
from clearance.models import Declaration, Fee, GatePass
from vehicles.compiled import CompiledQuery

logger = logging.getLogger(__name__)

# The next gate pass id, drawn from the table's own sequence (PostgreSQL): the pass is signed before it is
# written. A pass not written after all (a standing one kept) leaves a gap, as a rollback would.
_NEXT_PASS_ID = RawSQL("nextval(pg_get_serial_sequence(%s, 'id'))", [GatePass._meta.db_table])


def _pass_facts(declaration_id: int):
    standing = GatePass.objects.filter(declaration_id=OuterRef("id"), revoked_at__isnull=True).order_by("id")
    annotations = {
        "standing_id": Subquery(standing.values("id")[:1]),
        "standing_lane_id": Subquery(standing.values("lane_id")[:1]),
    }
    if connection.vendor == "postgresql":
        annotations["new_id"] = _NEXT_PASS_ID
    return (
        Declaration.objects.filter(id=declaration_id, fee__status=Fee.Status.PAID)
        .select_related("vehicle", "route", "lane")
        .only("id", "vehicle__normalized_plate", "route__code", "lane__code")
        .annotate(**annotations)
        .order_by()[:1]
    )


# Read on every call and every payment that makes a pass due: compiled once (vehicles.compiled).
_PASS_FACTS = CompiledQuery(_pass_facts, declaration_id=int)


def gate_pass_issue_if_due(*, declaration: Declaration) -> GatePass | None:
    """The pass of a declaration that is now cleared, called and paid (the caller holds its row lock and
    has just made one of the three true). One standing pass per declaration: a standing pass for the
    same lane is kept, one for another lane is revoked first. Returns None when a condition is missing."""
    if declaration.status != Declaration.Status.CLEARED or declaration.stage != Declaration.Stage.CALLED:
        return None
    if Declaration.fee.related.is_cached(declaration):
        # Read with the locked row (the dispatcher's queue head, a payment's fee): unpaid needs no query.
        fee = Declaration.fee.related.get_cached_value(declaration)
        if fee is None or fee.status != Fee.Status.PAID:
            return None
    # One query answers it all: is the fee paid, the plate, route and lane the pass names, the standing pass
    # and (PostgreSQL) the new pass's id, so the pass is written once, signed.
    facts = _PASS_FACTS.first(declaration_id=declaration.id)
    if facts is None:
        return None
    if facts.standing_id is not None and facts.standing_lane_id == declaration.lane_id:
        return GatePass.objects.get(id=facts.standing_id)
    now = timezone.now()
    if facts.standing_id is not None:
        GatePass.objects.filter(id=facts.standing_id).update(revoked_at=now, revoked_reason="reissued")
    ring = key_ring()
    issued = GatePass(
        id=getattr(facts, "new_id", None),
        declaration_id=declaration.id,
        route_id=declaration.route_id,
        direction=declaration.direction,
        lane_id=declaration.lane_id,
        normalized_plate=facts.vehicle.normalized_plate,
        key_id=ring.signing_key_id,
        valid_from=now,
        valid_until=now + timedelta(minutes=settings.SMARTGATE_GATE_PASS_VALID_MINUTES),
    )
    if issued.id is None:  # no sequence to draw from first (SQLite): the id comes with the INSERT
        issued.save(force_insert=True)
    issued.token = gate_pass.sign(
        {
            "typ": gate_pass.PASS,
            "pid": issued.id,
            "decl": declaration.id,
            "ref": declaration.reference,
            "plate": issued.normalized_plate,
            "route": facts.route.code,
            "dir": declaration.direction,
            "lane": facts.lane.code,
            "nbf": int(issued.valid_from.timestamp()),
            "exp": int(issued.valid_until.timestamp()),
        },
        key_id=ring.signing_key_id,
        key=ring.signing_key,
    )
    if issued._state.adding:
        issued.save(force_insert=True)
    else:
        GatePass.objects.filter(id=issued.id).update(token=issued.token)
    logger.info("gate_pass.issued", extra={"declaration": declaration.id, "gate_pass": issued.id})
    return issued


def gate_passes_revoke(*, declaration: Declaration, reason: str) -> int:
    """Withdraw the standing pass of a declaration that leaves ``cleared and called`` before its lane
    (``reason``: the DeclarationEvent.Kind that withdrew it). Returns how many were revoked."""
    revoked = GatePass.objects.filter(declaration_id=declaration.id, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
    if revoked:
        logger.info("gate_pass.revoked", extra={"declaration": declaration.id, "reason": reason})
    return revoked
