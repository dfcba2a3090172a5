"""Signed gate passes: issued when a declaration is cleared, called and paid, revoked when that stops being
true before the vehicle entered its lane. Called by the lifecycle (it is below it), so a pass follows every
transition that grants or withdraws it, wherever the transition comes from."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from clearance import gate_pass
from clearance.gate_pass_keys import key_ring
from clearance.models import Declaration, Fee, GatePass

logger = logging.getLogger(__name__)


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
    # One query answers both: is the fee paid, and the plate, route and lane the pass names.
    facts = (
        Declaration.objects.filter(id=declaration.id, fee__status=Fee.Status.PAID)
        .values("vehicle__normalized_plate", "route__code", "lane__code")
        .first()
    )
    if facts is None:
        return None
    standing = GatePass.objects.filter(declaration_id=declaration.id, revoked_at__isnull=True).first()
    if standing is not None and standing.lane_id == declaration.lane_id:
        return standing
    now = timezone.now()
    if standing is not None:
        GatePass.objects.filter(id=standing.id).update(revoked_at=now, revoked_reason="reissued")
    ring = key_ring()
    issued = GatePass.objects.create(
        declaration_id=declaration.id,
        route_id=declaration.route_id,
        direction=declaration.direction,
        lane_id=declaration.lane_id,
        normalized_plate=facts["vehicle__normalized_plate"],
        key_id=ring.signing_key_id,
        valid_from=now,
        valid_until=now + timedelta(minutes=settings.SMARTGATE_GATE_PASS_VALID_MINUTES),
    )
    issued.token = gate_pass.sign(
        {
            "typ": gate_pass.PASS,
            "pid": issued.id,
            "decl": declaration.id,
            "ref": declaration.reference,
            "plate": issued.normalized_plate,
            "route": facts["route__code"],
            "dir": declaration.direction,
            "lane": facts["lane__code"],
            "nbf": int(issued.valid_from.timestamp()),
            "exp": int(issued.valid_until.timestamp()),
        },
        key_id=ring.signing_key_id,
        key=ring.signing_key,
    )
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
