"""Checks: created with the declaration (the outbox), run by workers, decided once all have answered.

Nothing is lost: a Check row is written in the submit's transaction; the Celery message sent after
commit is only a wake-up call. A worker claims a check with a conditional update and writes its outcome
only if its claim still stands, so a second delivery never records a second outcome. Reconciliation
re-sends checks left pending or running too long (broker down at commit, worker killed, lost message).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from clearance.audit import Actor, audit_record
from clearance.engines import Reason, Verdict
from clearance.engines.border_guard import border_guard_assess
from clearance.engines.customs import customs_gateway
from clearance.engines.quarantine import quarantine_assess
from clearance.models import Check, Declaration, Inspection
from clearance.services.inspections import fee_issue_when_cleared
from clearance.services.queue import dispatch_soon

logger = logging.getLogger(__name__)

WORKER = Actor.system("check-worker")
MAX_ATTEMPTS = 10
ENGINES = {
    Check.Kind.CUSTOMS: lambda declaration: customs_gateway().assess(declaration),
    Check.Kind.BORDER_GUARD: border_guard_assess,
    Check.Kind.QUARANTINE: quarantine_assess,
}


def checks_start(*, declaration: Declaration, actor: Actor) -> list[Check]:
    """Create this version's checks and move the declaration to CHECKING; call inside the submit's or
    amendment's transaction. The tasks are sent after commit."""
    now = timezone.now()
    # Inspections of an earlier version no longer apply: they leave the forces' lists.
    Inspection.objects.filter(declaration=declaration, status=Inspection.Status.OPEN).update(
        status=Inspection.Status.WITHDRAWN, resolved_at=now
    )
    checks = Check.objects.bulk_create(
        Check(declaration=declaration, version=declaration.version, kind=kind, enqueued_at=now) for kind in Check.Kind
    )
    declaration.transition(to=Declaration.Status.CHECKING)
    declaration.channel = ""
    declaration.save(update_fields=["status", "channel", "updated_at"])
    audit_record(
        declaration=declaration, actor=actor, event="checks_started", data={"checks": [check.kind for check in checks]}
    )
    ids = [(check.id, check.kind) for check in checks]
    transaction.on_commit(lambda: checks_enqueue(ids))
    return checks


def checks_enqueue(checks: list[tuple[int, str]]) -> None:
    """Send one task per check to its force's queue. A broker that is down is logged, not raised: the
    check rows are already committed and reconciliation sends them later."""
    from clearance.tasks import check_run_task

    for check_id, kind in checks:
        try:
            check_run_task.apply_async(args=[check_id], queue=kind, retry=False)
        except Exception:  # kombu raises several types for an unreachable broker
            logger.warning("check.enqueue_failed", extra={"check": check_id}, exc_info=True)


def _claim(*, check_id: int, task_id: str | None) -> str | None:
    """Take a pending check for this run. A running check may be retaken only by a redelivery of the
    very message that claimed it (its worker died before acknowledging); reconciliation hands other
    stale running checks back as pending."""
    token = uuid.uuid4().hex
    claimable = Q(status=Check.Status.PENDING)
    if task_id:
        claimable |= Q(status=Check.Status.RUNNING, claimed_by_task=task_id)
    claimed = Check.objects.filter(claimable, id=check_id).update(
        status=Check.Status.RUNNING,
        claim_token=token,
        claimed_by_task=task_id or "",
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
    )
    return token if claimed == 1 else None


def check_run(*, check_id: int, task_id: str | None = None) -> Check | None:
    """Run one check and, if it was the last of the current version, decide the declaration.

    Idempotent: returns None when the check is missing, finished, or held by a live claim elsewhere.
    Raises CustomsGatewayUnavailable (transient) after releasing the claim, for the task to retry.
    """
    token = _claim(check_id=check_id, task_id=task_id)
    if token is None:
        return None
    check = Check.objects.select_related("declaration").get(id=check_id)
    audit_record(
        declaration=check.declaration,
        actor=WORKER,
        event="check_started",
        version=check.version,
        data={"check": check.kind, "attempt": check.attempts},
    )
    declaration = (
        Declaration.objects.select_related("company", "vehicle", "trailer", "driver", "route")
        .prefetch_related("goods", "containers", "quarantine_certificates")
        .get(id=check.declaration_id)
    )
    if check.version != declaration.version:
        # Amended before this check ran: checking the new data under the old version would mislead.
        verdict = Verdict(
            Check.Outcome.SUPERSEDED,
            [
                Reason(
                    "superseded", f"The declaration was amended to version {declaration.version} before this check ran."
                )
            ],
        )
        return check_finish(check_id=check_id, token=token, verdict=verdict)
    try:
        verdict = ENGINES[check.kind](declaration)
    except Exception:
        Check.objects.filter(id=check_id, claim_token=token).update(status=Check.Status.PENDING, claim_token="")
        raise
    return check_finish(check_id=check_id, token=token, verdict=verdict)


@transaction.atomic
def check_finish(*, check_id: int, token: str, verdict: Verdict) -> Check | None:
    """Record the outcome if this run's claim still stands, then try to decide."""
    recorded = Check.objects.filter(id=check_id, status=Check.Status.RUNNING, claim_token=token).update(
        status=Check.Status.DONE,
        outcome=verdict.outcome,
        reasons=[reason.as_dict() for reason in verdict.reasons],
        finished_at=timezone.now(),
    )
    if recorded != 1:
        return None  # another run retook the check; its outcome is the one recorded
    check = Check.objects.get(id=check_id)
    declaration = Declaration.objects.select_for_update().get(id=check.declaration_id)
    current = check.version == declaration.version
    audit_record(
        declaration=declaration,
        actor=WORKER,
        event="check_finished",
        version=check.version,
        data={"check": check.kind, "outcome": check.outcome, "reasons": check.reasons, "ignored": not current},
    )
    if current and check.kind == Check.Kind.CUSTOMS:
        declaration.channel = check.outcome
        declaration.save(update_fields=["channel", "updated_at"])
    if current:
        declaration_decide(declaration=declaration)
    return check


@transaction.atomic
def check_fail(*, check_id: int, error: str) -> None:
    """A check that kept failing for transient reasons: an officer of that force checks by hand."""
    failed = Check.objects.filter(id=check_id, status__in=[Check.Status.PENDING, Check.Status.RUNNING]).update(
        status=Check.Status.FAILED,
        reasons=[{"code": "check_failed", "message": error}],
        finished_at=timezone.now(),
    )
    if failed != 1:
        return
    check = Check.objects.get(id=check_id)
    declaration = Declaration.objects.select_for_update().get(id=check.declaration_id)
    audit_record(
        declaration=declaration,
        actor=WORKER,
        event="check_failed",
        version=check.version,
        data={"check": check.kind, "error": error},
    )
    if check.version == declaration.version:
        declaration_decide(declaration=declaration)


# Which inspection each force needs, by its check's outcome.
_INSPECTIONS = {
    (Check.Kind.CUSTOMS, "yellow"): Inspection.Kind.DOCUMENT_REVIEW,
    (Check.Kind.CUSTOMS, "red"): Inspection.Kind.PHYSICAL,
    (Check.Kind.CUSTOMS, "failed"): Inspection.Kind.DOCUMENT_REVIEW,
    (Check.Kind.BORDER_GUARD, "flag"): Inspection.Kind.MANUAL_CHECK,
    (Check.Kind.BORDER_GUARD, "failed"): Inspection.Kind.MANUAL_CHECK,
    (Check.Kind.QUARANTINE, "inspection"): Inspection.Kind.QUARANTINE,
    (Check.Kind.QUARANTINE, "failed"): Inspection.Kind.QUARANTINE,
}


def declaration_decide(*, declaration: Declaration) -> None:
    """Once every check of the current version has answered: any deny → rejected; any yellow, red, flag,
    missing certificate or failed check → inspection, one per force that must act; else cleared.
    Call with the declaration locked, inside a transaction. Does nothing until the last check is in."""
    if declaration.status != Declaration.Status.CHECKING:
        return
    checks = list(Check.objects.filter(declaration=declaration, version=declaration.version))
    if len(checks) < len(Check.Kind) or any(c.status not in (Check.Status.DONE, Check.Status.FAILED) for c in checks):
        return
    results = {check.kind: ("failed" if check.status == Check.Status.FAILED else check.outcome) for check in checks}
    reasons = {check.kind: check.reasons for check in checks}

    if "deny" in results.values():
        declaration.transition(to=Declaration.Status.REJECTED)
        why = [reason["message"] for kind, outcome in results.items() if outcome == "deny" for reason in reasons[kind]]
        event, reason_text = "rejected", " ".join(why)
    else:
        needed = [
            (kind, _INSPECTIONS[(kind, outcome)])
            for kind, outcome in results.items()
            if (kind, outcome) in _INSPECTIONS
        ]
        if needed:
            declaration.transition(to=Declaration.Status.INSPECTION)
            Inspection.objects.bulk_create(
                Inspection(
                    declaration=declaration,
                    version=declaration.version,
                    force=kind,
                    kind=inspection_kind,
                    reasons=reasons[kind],
                )
                for kind, inspection_kind in needed
            )
            event, reason_text = "inspection_required", ", ".join(f"{kind}: {kind_}" for kind, kind_ in needed)
        else:
            declaration.transition(to=Declaration.Status.CLEARED)
            event, reason_text = "cleared", "All checks passed on the green channel."
    declaration.save(update_fields=["status", "updated_at"])
    audit_record(declaration=declaration, actor=WORKER, event=event, reason=reason_text, data={"checks": results})
    if declaration.status == Declaration.Status.CLEARED:
        fee_issue_when_cleared(declaration, actor=WORKER)
    if declaration.is_waiting:
        dispatch_soon()  # a vehicle already in the yard may now be called
    logger.info("declaration.decided", extra={"declaration": declaration.id, "status": declaration.status})


def checks_reconcile() -> int:
    """Send again the checks pending or running longer than the stale threshold; returns how many.

    A stale running check's worker is presumed dead (the threshold exceeds the task time limit): the
    check goes back to pending with its claim cleared, so a late answer from that worker is not recorded.
    """
    stale_before = timezone.now() - timedelta(seconds=settings.SMARTGATE_CHECK_STALE_SECONDS)
    # A check that kept failing for a reason that is not transient goes to an officer instead.
    for check_id in Check.objects.filter(
        status__in=[Check.Status.PENDING, Check.Status.RUNNING], attempts__gte=MAX_ATTEMPTS
    ).values_list("id", flat=True):
        check_fail(check_id=check_id, error=f"Gave up after {MAX_ATTEMPTS} attempts.")
    with transaction.atomic():
        stale = list(
            Check.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=Check.Status.PENDING, enqueued_at__lt=stale_before)
                | Q(status=Check.Status.RUNNING, started_at__lt=stale_before)
            )
            .values_list("id", "kind")[:500]
        )
        Check.objects.filter(id__in=[check_id for check_id, _kind in stale]).update(
            status=Check.Status.PENDING,
            claim_token="",
            claimed_by_task="",
            enqueued_at=timezone.now(),
        )
    if stale:
        logger.warning("checks.reconciled", extra={"count": len(stale)})
        checks_enqueue(stale)
    return len(stale)
