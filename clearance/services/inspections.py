"""Officers' decisions: inspection results, and a supervisor's release or rejection of a held crossing."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from clearance.audit import Actor, audit_record
from clearance.errors import Conflict, DomainError
from clearance.models import Declaration, Inspection
from clearance.roles import can_act_for_force, is_supervisor
from clearance.services.fees import TariffMissing, fee_issue
from clearance.services.queue import dispatch_soon

logger = logging.getLogger(__name__)


class NotYourForce(DomainError):
    status = 403
    code = "permission_denied"
    title = "Permission denied"


def fee_issue_when_cleared(declaration: Declaration, *, actor: Actor) -> None:
    """Issue the fee with the clearance. Without a usable tariff (none in force, or one missing a rate
    or coefficient) the clearance stands and the fee waits for an officer: a tariff slip must not stop
    the gate."""
    try:
        with transaction.atomic():
            fee_issue(declaration_id=declaration.id, actor=actor)
    except TariffMissing:
        logger.warning("fee.no_tariff", extra={"declaration": declaration.id})
    except (KeyError, StopIteration):
        logger.exception("fee.tariff_incomplete", extra={"declaration": declaration.id})


@transaction.atomic
def inspection_record_result(*, inspection_id: int, user, passed: bool, notes: str = "") -> Inspection:
    """Record an inspection's result. Only an officer of the inspection's force (or a supervisor) may.
    All required inspections passed → cleared; a failure → held, for a supervisor to release or reject.

    Raises NotYourForce (403) and Conflict (409: already recorded, or not the current version).
    """
    inspection = Inspection.objects.select_for_update().get(id=inspection_id)
    if not can_act_for_force(user, inspection.force):
        raise NotYourForce(f"Only {inspection.get_force_display()} officers record this inspection.")
    if inspection.status != Inspection.Status.OPEN:
        raise Conflict(f"This inspection was already recorded as {inspection.status}.", code="inspection_closed")
    declaration = Declaration.objects.select_for_update().get(id=inspection.declaration_id)
    if inspection.version != declaration.version or declaration.status != Declaration.Status.INSPECTION:
        raise Conflict(
            "The declaration has moved on (amended or decided); this inspection no longer applies.",
            code="inspection_outdated",
        )
    inspection.status = Inspection.Status.PASSED if passed else Inspection.Status.FAILED
    inspection.notes, inspection.resolved_by, inspection.resolved_at = notes, user, timezone.now()
    inspection.save(update_fields=["status", "notes", "resolved_by", "resolved_at"])
    actor = Actor.for_user(user)
    audit_record(
        declaration=declaration,
        actor=actor,
        event="inspection_passed" if passed else "inspection_failed",
        reason=notes,
        data={"inspection": inspection.id, "force": inspection.force},
    )
    if not passed:
        declaration.transition(to=Declaration.Status.HELD)
        declaration.save(update_fields=["status", "updated_at"])
        audit_record(declaration=declaration, actor=actor, event="held", reason=notes)
    elif (
        not declaration.inspections.filter(version=declaration.version)
        .exclude(status=Inspection.Status.PASSED)
        .exists()
    ):
        _clear(declaration, actor=actor, reason="All required inspections passed.")
    return inspection


def _clear(declaration: Declaration, *, actor: Actor, reason: str) -> None:
    declaration.transition(to=Declaration.Status.CLEARED)
    declaration.save(update_fields=["status", "updated_at"])
    audit_record(declaration=declaration, actor=actor, event="cleared", reason=reason)
    fee_issue_when_cleared(declaration, actor=actor)
    if declaration.is_waiting:
        dispatch_soon()


@transaction.atomic
def declaration_release(*, declaration_id: int, user, reason: str) -> Declaration:
    """A supervisor releases a held crossing (→ cleared), with a reason."""
    declaration = _held_for_supervisor(declaration_id, user)
    _clear(declaration, actor=Actor.for_user(user), reason=reason)
    return declaration


@transaction.atomic
def declaration_reject_held(*, declaration_id: int, user, reason: str) -> Declaration:
    """A supervisor rejects a held crossing (→ rejected), with a reason."""
    declaration = _held_for_supervisor(declaration_id, user)
    declaration.transition(to=Declaration.Status.REJECTED)
    declaration.save(update_fields=["status", "updated_at"])
    audit_record(declaration=declaration, actor=Actor.for_user(user), event="rejected", reason=reason)
    return declaration


def _held_for_supervisor(declaration_id: int, user) -> Declaration:
    if not is_supervisor(user):
        raise NotYourForce("Only a supervisor releases or rejects a held crossing.")
    declaration = Declaration.objects.select_for_update().get(id=declaration_id)
    if declaration.status != Declaration.Status.HELD:
        raise Conflict(f"The declaration is {declaration.status}, not held.", code="not_held")
    return declaration
