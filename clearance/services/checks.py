"""Checks: created with the declaration (the outbox), run by workers, decided once all have answered.

Nothing is lost: a Check row is written in the submit's transaction; the Celery message sent after
commit is only a wake-up call. A worker claims a check with a conditional update and writes its outcome
only if its claim still stands, so a second delivery never records a second outcome. Reconciliation
re-sends checks left pending or running too long (broker down at commit, worker killed, lost message).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from clearance import metrics
from clearance.audit import Actor
from clearance.engines import Reason, Verdict
from clearance.engines.border_guard import border_guard_assess
from clearance.engines.customs import customs_gateway
from clearance.engines.quarantine import quarantine_assess
from clearance.models import CHECK_FAILED_REASON, Check, Declaration, Inspection
from clearance.services import lifecycle
from clearance.services.enqueue import checks_enqueue

logger = logging.getLogger(__name__)

WORKER = Actor.system("check-worker")


@dataclass(frozen=True)
class RetryPolicy:
    """How often a check is tried before an officer of its force checks by hand, and how long a worker
    waits between tries when the customs system does not answer. One policy for the task's retries and
    for reconciliation."""

    max_attempts: int = 10
    max_backoff_seconds: int = 300

    def countdown(self, retries: int) -> int:
        return min(2**retries, self.max_backoff_seconds)


CHECK_RETRY = RetryPolicy()
ENGINES = {
    Check.Kind.CUSTOMS: lambda declaration: customs_gateway().assess(declaration),
    Check.Kind.BORDER_GUARD: border_guard_assess,
    Check.Kind.QUARANTINE: quarantine_assess,
}


def checks_start(*, declaration: Declaration, actor: Actor) -> list[Check]:
    """Create this version's checks and move the declaration to CHECKING; call inside the submit's or
    amendment's transaction, with the declaration locked. The tasks are sent after commit."""
    now = timezone.now()
    # Inspections of an earlier version no longer apply: they leave the forces' lists.
    Inspection.objects.filter(declaration=declaration, status=Inspection.Status.OPEN).update(
        status=Inspection.Status.WITHDRAWN, resolved_at=now
    )
    checks = Check.objects.bulk_create(
        Check(declaration=declaration, version=declaration.version, kind=kind, enqueued_at=now) for kind in Check.Kind
    )
    lifecycle.checks_started(declaration=declaration, actor=actor, checks=checks)
    return checks


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
    check = Check.objects.get(id=check_id)
    with transaction.atomic():
        # The trail is a chain per declaration: appending to it takes the declaration's row lock.
        locked = Declaration.objects.select_for_update().get(id=check.declaration_id)
        lifecycle.check_started(declaration=locked, check=check, actor=WORKER)
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
                    Check.Outcome.SUPERSEDED,
                    f"The declaration was amended to version {declaration.version} before this check ran.",
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
    return _decided(check_id)


@transaction.atomic
def check_fail(*, check_id: int, error: str) -> None:
    """A check that kept failing for transient reasons: an officer of that force checks by hand."""
    failed = Check.objects.filter(id=check_id, status__in=[Check.Status.PENDING, Check.Status.RUNNING]).update(
        status=Check.Status.FAILED,
        reasons=[Reason(CHECK_FAILED_REASON, error).as_dict()],
        finished_at=timezone.now(),
    )
    if failed == 1:
        _decided(check_id)


def _decided(check_id: int) -> Check:
    check = Check.objects.get(id=check_id)
    metrics.check_finished_count(
        kind=check.kind,
        outcome=check.outcome or check.status,
        started_at=check.started_at,
        finished_at=check.finished_at,
    )
    declaration = Declaration.objects.select_for_update().get(id=check.declaration_id)
    lifecycle.check_decided(declaration=declaration, check=check, actor=WORKER)
    if check.version == declaration.version:
        declaration_decide(declaration=declaration)
    return check


# Which inspection each force needs, by its check's outcome (a failed check counts as FAILED).
_INSPECTIONS = {
    (Check.Kind.CUSTOMS, Check.Outcome.YELLOW): Inspection.Kind.DOCUMENT_REVIEW,
    (Check.Kind.CUSTOMS, Check.Outcome.RED): Inspection.Kind.PHYSICAL,
    (Check.Kind.CUSTOMS, Check.Status.FAILED): Inspection.Kind.DOCUMENT_REVIEW,
    (Check.Kind.BORDER_GUARD, Check.Outcome.FLAG): Inspection.Kind.MANUAL_CHECK,
    (Check.Kind.BORDER_GUARD, Check.Status.FAILED): Inspection.Kind.MANUAL_CHECK,
    (Check.Kind.QUARANTINE, Check.Outcome.INSPECTION): Inspection.Kind.QUARANTINE,
    (Check.Kind.QUARANTINE, Check.Status.FAILED): Inspection.Kind.QUARANTINE,
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
    results = {
        check.kind: (Check.Status.FAILED if check.status == Check.Status.FAILED else check.outcome) for check in checks
    }
    reasons = {check.kind: check.reasons for check in checks}
    data = {"checks": results}

    needed = [
        (kind, _INSPECTIONS[(kind, outcome)]) for kind, outcome in results.items() if (kind, outcome) in _INSPECTIONS
    ]
    if Check.Outcome.DENY in results.values():
        why = [
            reason["message"]
            for kind, outcome in results.items()
            if outcome == Check.Outcome.DENY
            for reason in reasons[kind]
        ]
        lifecycle.declaration_rejected(declaration=declaration, actor=WORKER, reason=" ".join(why), data=data)
    elif needed:
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
        lifecycle.declaration_inspection_required(
            declaration=declaration,
            actor=WORKER,
            reason=", ".join(f"{kind}: {inspection_kind}" for kind, inspection_kind in needed),
            data=data,
        )
    else:
        lifecycle.declaration_cleared(
            declaration=declaration, actor=WORKER, reason="All checks passed on the green channel.", data=data
        )
    logger.info("declaration.decided", extra={"declaration": declaration.id, "status": declaration.status})


def checks_reconcile() -> int:
    """Send again the checks pending or running longer than the stale threshold; returns how many.

    A stale running check's worker is presumed dead (the threshold exceeds the task time limit): the
    check goes back to pending with its claim cleared, so a late answer from that worker is not recorded.
    """
    stale_before = timezone.now() - timedelta(seconds=settings.SMARTGATE_CHECK_STALE_SECONDS)
    # A check that kept failing for a reason that is not transient goes to an officer instead.
    for check_id in Check.objects.filter(
        status__in=[Check.Status.PENDING, Check.Status.RUNNING], attempts__gte=CHECK_RETRY.max_attempts
    ).values_list("id", flat=True):
        check_fail(check_id=check_id, error=f"Gave up after {CHECK_RETRY.max_attempts} attempts.")
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


def checks_new(*, declaration: Declaration, now) -> list[Check]:
    """The checks of a new declaration's first version, unsaved: the submission writes them with the
    declaration (lifecycle.declarations_submitted) and sends them after commit. A new declaration has no
    inspection of an earlier version to withdraw."""
    return [
        Check(declaration=declaration, version=declaration.version, kind=kind, enqueued_at=now) for kind in Check.Kind
    ]
