"""Checks: created with the declaration (the outbox), run by workers, decided once all have answered.

Nothing is lost: a Check row is written in the submit's transaction; the Celery message sent after
commit is only a wake-up call. A worker claims a check with a conditional update and writes its outcome
only if its claim still stands, so a second delivery never records a second outcome. Reconciliation
re-sends checks left pending or running too long (broker down at commit, worker killed, lost message).

A run is lean (the query budgets in tests/clearance/test_check_queries.py): the claim also answers the
check's kind and the reference data's generation; the declaration is loaded once with what its engine
reads; rules, thresholds, the watchlist and the tariff come from the worker's cache while their generation
stands (clearance.engines.reference); the check's start, its outcome and, after the last check, the
decision, its inspections and its fee are written in one transaction: the lock, then one statement
(lifecycle.batched).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone, translation

from clearance import metrics
from clearance.audit import Actor
from clearance.engines import Reason, Verdict, reference
from clearance.engines.border_guard import border_guard_assess, border_guard_prepare
from clearance.engines.customs import RulesCustomsGateway, customs_gateway, rules_prepare, violations_since
from clearance.engines.health import health_assess, health_prepare
from clearance.engines.quarantine import quarantine_assess
from clearance.models import CHECK_FAILED_REASON, Check, CheckReason, Declaration, Inspection
from clearance.models.reference import REFERENCE_CHANGE_TABLE
from clearance.services import lifecycle
from clearance.services.enqueue import checks_enqueue
from vehicles.compiled import CompiledQuery, compiled_for

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


@dataclass(frozen=True)
class CheckEngine:
    """How one force's check reads a declaration: ``prepare`` adds to the one query that loads it what
    ``assess`` will read (joins, figures computed by the database, related lists), so a run costs a known
    handful of queries; ``assess`` answers the Verdict."""

    assess: Callable[[Declaration], Verdict]
    prepare: Callable[..., QuerySet[Declaration]] = lambda declarations: declarations
    # ``prepare`` reads nothing but its queryset and ``values()`` (no clock, no setting): its load is compiled
    # once (vehicles.compiled) and run again with each declaration's id and the values of the moment, whose
    # types ``parameters`` names.
    compiled: bool = False
    parameters: dict[str, type] = field(default_factory=dict)
    values: Callable[[], dict] = dict

    def load(self, declaration_id: int) -> Declaration:
        if not self.compiled:
            return self.prepare(Declaration.objects.filter(id=declaration_id)).get()
        prepare = self.prepare
        query = compiled_for(
            ("check load", prepare),  # module-level functions: one query per engine
            lambda declaration_id, **values: prepare(Declaration.objects.filter(id=declaration_id), **values),
            declaration_id=int,
            **self.parameters,
        )
        declaration = query.first(declaration_id=declaration_id, **self.values())
        if declaration is None:
            raise Declaration.DoesNotExist(f"Declaration {declaration_id} does not exist.")
        return declaration


def _customs_engine() -> CheckEngine:
    gateway = customs_gateway()
    if type(gateway) is RulesCustomsGateway:
        return CheckEngine(
            assess=gateway.assess,
            prepare=rules_prepare,
            compiled=True,
            parameters={"since": date},
            values=lambda: {"since": violations_since()},
        )
    # A replacement customs system needs no ``prepare``: it gets the declaration and reads what it wants.
    return CheckEngine(assess=gateway.assess, prepare=getattr(gateway, "prepare", CheckEngine.prepare))


# One engine per check kind, built for each run (the customs gateway is a setting). A new force's check is
# a Check.Kind, an engine here and its inspections in _INSPECTIONS; the pipeline itself names no kind.
ENGINES: dict[str, Callable[[], CheckEngine]] = {
    Check.Kind.CUSTOMS: _customs_engine,
    Check.Kind.BORDER_GUARD: lambda: CheckEngine(
        assess=border_guard_assess, prepare=border_guard_prepare, compiled=True
    ),
    Check.Kind.QUARANTINE: lambda: CheckEngine(assess=quarantine_assess, compiled=True),
    Check.Kind.HEALTH: lambda: CheckEngine(assess=health_assess, prepare=health_prepare, compiled=True),
}
# An empty truck carries no goods: customs and plant/animal quarantine have nothing to check. Their checks
# are still written and run, and record "not required", so the forwarder sees every force's answer.
EMPTY_RETURN_CHECKS = {Check.Kind.BORDER_GUARD, Check.Kind.HEALTH}


def check_assess(kind: str, declaration: Declaration, engine: CheckEngine) -> Verdict:
    """The verdict of one force's check (``engine``) on the declaration as it stands."""
    if declaration.is_empty_return and kind not in EMPTY_RETURN_CHECKS:
        with translation.override("en"):  # stored in English; screens translate by the code
            return Verdict(
                Check.Outcome.NOT_REQUIRED,
                [Reason(CheckReason.NO_GOODS.value, str(CheckReason.NO_GOODS.label))],
            )
    return engine.assess(declaration)


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


@dataclass(frozen=True)
class _Claim:
    check: Check  # as claimed: running, with its kind, version, declaration, attempts and start
    token: str
    reference_generation: int | None


# The claim is one statement that also answers what the run needs to know next: the check's kind, version
# and declaration, and the reference data's generation (clearance.models.reference), so the worker's
# cached rules are known current without a query of their own. The ORM's update() returns only a count.
_CLAIM_SQL = """
UPDATE {check} SET status = %s, claim_token = %s, claimed_by_task = %s, started_at = %s, attempts = attempts + 1
WHERE id = %s AND (status = %s OR (status = %s AND claimed_by_task <> '' AND claimed_by_task = %s))
RETURNING declaration_id, kind, version, attempts, (SELECT MAX(id) FROM {change})
"""


def _claim(*, check_id: int, task_id: str | None) -> _Claim | None:
    """Take a pending check for this run. A running check may be retaken only by a redelivery of the
    very message that claimed it (its worker died before acknowledging); reconciliation hands other
    stale running checks back as pending."""
    token, now = uuid.uuid4().hex, timezone.now()
    sql = _CLAIM_SQL.format(
        check=connection.ops.quote_name(Check._meta.db_table), change=connection.ops.quote_name(REFERENCE_CHANGE_TABLE)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                Check.Status.RUNNING,
                token,
                task_id or "",
                now,
                check_id,
                Check.Status.PENDING,
                Check.Status.RUNNING,
                task_id or "",
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    declaration_id, kind, version, attempts, generation = row
    check = Check(
        id=check_id,
        declaration_id=declaration_id,
        kind=kind,
        version=version,
        attempts=attempts,
        status=Check.Status.RUNNING,
        started_at=now,
    )
    # Only PostgreSQL keeps the change log by trigger: elsewhere the rules are read afresh on every run.
    return _Claim(check, token, generation if connection.vendor == "postgresql" else None)


def check_run(*, check_id: int, task_id: str | None = None) -> Check | None:
    """Run one check and, if it was the last of the current version, decide the declaration.

    Idempotent: returns None when the check is missing, finished, or held by a live claim elsewhere.
    Raises CustomsGatewayUnavailable (transient) after releasing the claim, for the task to retry.

    Queries: the claim, one load of the declaration with what the engine reads (and at most one more
    for a related list), then one transaction that records the start, the outcome and, after the last
    check, the decision (see ``_finish``). The engine runs outside any transaction or lock: a slow
    customs system holds no row.
    """
    claim = _claim(check_id=check_id, task_id=task_id)
    if claim is None:
        return None
    check = claim.check
    with reference.as_of(claim.reference_generation):
        engine = ENGINES[check.kind]()
        try:
            declaration = engine.load(check.declaration_id)
            if check.version != declaration.version:
                # Amended before this check ran: checking the new data under the old version would mislead.
                message = f"The declaration was amended to version {declaration.version} before this check ran."
                verdict = Verdict(Check.Outcome.SUPERSEDED, [Reason(Check.Outcome.SUPERSEDED, message)])
            else:
                verdict = check_assess(check.kind, declaration, engine)
        except Exception:
            Check.objects.filter(id=check_id, claim_token=claim.token).update(
                status=Check.Status.PENDING, claim_token=""
            )
            raise
        return _finish(check, token=claim.token, verdict=verdict, loaded=declaration)


# The outcome of a check whose claim stands, written with the trail by ``lifecycle.batched``: what
# ``Check.objects.filter(id=…, status=RUNNING, claim_token=…).update(…)`` would send, written once here
# rather than built by the ORM for every run.
_OUTCOME_SQL = (
    "UPDATE {check} SET status = %s, outcome = %s, reasons = %s, finished_at = %s "
    "WHERE id = %s AND status = %s AND claim_token = %s"
)


def _outcome_statement(check: Check, token: str) -> tuple[str, tuple]:
    def prepared(name: str, value):
        return Check._meta.get_field(name).get_db_prep_save(value, connection)

    return (
        _OUTCOME_SQL.format(check=connection.ops.quote_name(Check._meta.db_table)),
        (
            check.status,
            check.outcome,
            prepared("reasons", check.reasons),
            prepared("finished_at", check.finished_at),
            check.id,
            Check.Status.RUNNING,
            token,
        ),
    )


@transaction.atomic
def _finish(check: Check, *, token: str, verdict: Verdict, loaded: Declaration) -> Check | None:
    """Record the outcome if this run's claim still stands: the start and the outcome in the trail and,
    if it was the last check of the current version, the decision; one transaction, the declaration
    locked, its writes batched (lifecycle.batched)."""
    declaration, current_checks = _lock_with_current_checks(check.declaration_id)
    check.status, check.outcome = Check.Status.DONE, verdict.outcome
    check.reasons = [reason.as_dict() for reason in verdict.reasons]
    check.finished_at = timezone.now()
    as_locked = next((sibling for sibling in current_checks if sibling.id == check.id), None)
    if as_locked is not None:
        # Its row is locked and was read with the declaration: whether this run's claim still stands is
        # known, and the outcome is written with the trail (one statement).
        if as_locked.status != Check.Status.RUNNING or as_locked.claim_token != token:
            return None  # another run retook the check; its outcome is the one recorded
        also = [_outcome_statement(check, token)]
    else:  # a check of an amended version: not among the current ones read under the lock
        claimed = Check.objects.filter(id=check.id, status=Check.Status.RUNNING, claim_token=token)
        if (
            claimed.update(
                status=check.status, outcome=check.outcome, reasons=check.reasons, finished_at=check.finished_at
            )
            != 1
        ):
            return None
        also = []
    if loaded.version == declaration.version:
        # What the engine loaded with this version (its goods lines) serves the decision's fee too.
        declaration._prefetched_objects_cache = getattr(loaded, "_prefetched_objects_cache", {})
    with lifecycle.batched(declaration, also=also):
        lifecycle.check_started(declaration=declaration, check=check, actor=WORKER)
        _decided(declaration, check, current_checks)
    return check


@transaction.atomic
def check_fail(*, check_id: int, error: str) -> None:
    """A check that kept failing for transient reasons: an officer of that force checks by hand."""
    failed = Check.objects.filter(id=check_id, status__in=[Check.Status.PENDING, Check.Status.RUNNING]).update(
        status=Check.Status.FAILED,
        reasons=[Reason(CHECK_FAILED_REASON, error).as_dict()],
        finished_at=timezone.now(),
    )
    if failed == 1:
        check = Check.objects.get(id=check_id)
        declaration, current_checks = _lock_with_current_checks(check.declaration_id)
        with lifecycle.batched(declaration):
            _decided(declaration, check, current_checks)


# Run four times per declaration: compiled once (vehicles.compiled), Django's building of it cost more than
# PostgreSQL's running of it.
_CURRENT_CHECKS_LOCKED = CompiledQuery(
    lambda declaration_id: (
        Check.objects.select_related("declaration")
        .select_for_update(of=("self", "declaration"))
        .filter(declaration_id=declaration_id, version=F("declaration__version"))
    ),
    declaration_id=int,
)


def _lock_with_current_checks(declaration_id: int) -> tuple[Declaration, list[Check]]:
    """Lock the declaration and its current version's checks and read them, in one query. The check rows
    are locked too so that, having waited for another check's transaction, this one reads their rows as
    that one left them (PostgreSQL re-reads locked rows only): two last checks finishing at once must not
    each see the other still running."""
    checks = _CURRENT_CHECKS_LOCKED.all(declaration_id=declaration_id)
    if checks:
        return checks[0].declaration, checks
    # No check of the current version (it is being amended this instant): lock, then read plainly.
    declaration = Declaration.objects.select_for_update().get(id=declaration_id)
    return declaration, list(Check.objects.filter(declaration_id=declaration_id, version=declaration.version))


def _decided(declaration: Declaration, check: Check, current_checks: list[Check]) -> None:
    """The check's outcome (or failure) is recorded: say so in the trail and decide if it was the last."""
    metrics.check_finished_count(
        kind=check.kind,
        outcome=check.outcome or check.status,
        started_at=check.started_at,
        finished_at=check.finished_at,
    )
    lifecycle.check_decided(declaration=declaration, check=check, actor=WORKER)
    if check.version == declaration.version:
        checks = [check if sibling.id == check.id else sibling for sibling in current_checks]
        declaration_decide(declaration=declaration, checks=checks)


# Which inspection each force needs, by its check's outcome (a failed check counts as FAILED).
_INSPECTIONS = {
    (Check.Kind.CUSTOMS, Check.Outcome.YELLOW): Inspection.Kind.DOCUMENT_REVIEW,
    (Check.Kind.CUSTOMS, Check.Outcome.RED): Inspection.Kind.PHYSICAL,
    (Check.Kind.CUSTOMS, Check.Status.FAILED): Inspection.Kind.DOCUMENT_REVIEW,
    (Check.Kind.BORDER_GUARD, Check.Outcome.FLAG): Inspection.Kind.MANUAL_CHECK,
    (Check.Kind.BORDER_GUARD, Check.Status.FAILED): Inspection.Kind.MANUAL_CHECK,
    (Check.Kind.QUARANTINE, Check.Outcome.INSPECTION): Inspection.Kind.QUARANTINE,
    (Check.Kind.QUARANTINE, Check.Status.FAILED): Inspection.Kind.QUARANTINE,
    (Check.Kind.HEALTH, Check.Outcome.FLAG): Inspection.Kind.HEALTH_SCREENING,
    (Check.Kind.HEALTH, Check.Status.FAILED): Inspection.Kind.HEALTH_SCREENING,
}


def declaration_decide(*, declaration: Declaration, checks: list[Check] | None = None) -> None:
    """Once every check of the current version has answered: any deny → rejected; any yellow, red, flag,
    missing certificate or failed check → inspection, one per force that must act; else cleared.
    Call with the declaration locked, inside a transaction; ``checks`` are the current version's, as
    read under that lock (read here when not given). Does nothing until the last check is in."""
    if declaration.status != Declaration.Status.CHECKING:
        return
    if checks is None:
        checks = list(Check.objects.filter(declaration=declaration, version=declaration.version))
    # Every check this version was given (they are created together) must have answered.
    if not checks or any(check.status not in (Check.Status.DONE, Check.Status.FAILED) for check in checks):
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
        lifecycle.declaration_inspection_required(
            declaration=declaration,
            actor=WORKER,
            reason=", ".join(f"{kind}: {inspection_kind}" for kind, inspection_kind in needed),
            data=data,
            inspections=[
                Inspection(
                    declaration=declaration,
                    version=declaration.version,
                    force=kind,
                    kind=inspection_kind,
                    reasons=reasons[kind],
                )
                for kind, inspection_kind in needed
            ],
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
