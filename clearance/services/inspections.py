"""Officers' decisions: inspection results, and a supervisor's release or rejection of a held crossing."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from clearance.audit import Actor
from clearance.errors import Conflict, NotYourForce
from clearance.models import Declaration, Inspection
from clearance.roles import can_act_for_force, is_supervisor
from clearance.services import lifecycle

logger = logging.getLogger(__name__)


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
    lifecycle.inspection_recorded(declaration=declaration, inspection=inspection, actor=actor)
    if not passed:
        lifecycle.declaration_held(declaration=declaration, actor=actor, reason=notes)
    elif not (
        declaration.inspections.filter(version=declaration.version).exclude(status=Inspection.Status.PASSED).exists()
    ):
        lifecycle.declaration_cleared(declaration=declaration, actor=actor, reason="All required inspections passed.")
    return inspection


@transaction.atomic
def declaration_release(*, declaration_id: int, user, reason: str) -> Declaration:
    """A supervisor releases a held crossing (→ cleared), with a reason."""
    declaration = _held_for_supervisor(declaration_id, user)
    lifecycle.declaration_released(declaration=declaration, actor=Actor.for_user(user), reason=reason)
    return declaration


@transaction.atomic
def declaration_reject_held(*, declaration_id: int, user, reason: str) -> Declaration:
    """A supervisor rejects a held crossing (→ rejected), with a reason."""
    declaration = _held_for_supervisor(declaration_id, user)
    lifecycle.declaration_rejected(declaration=declaration, actor=Actor.for_user(user), reason=reason)
    return declaration


def _held_for_supervisor(declaration_id: int, user) -> Declaration:
    if not is_supervisor(user):
        raise NotYourForce("Only a supervisor releases or rejects a held crossing.")
    declaration = Declaration.objects.select_for_update().get(id=declaration_id)
    if declaration.status != Declaration.Status.HELD:
        raise Conflict(f"The declaration is {declaration.status}, not held.", code="not_held")
    return declaration
