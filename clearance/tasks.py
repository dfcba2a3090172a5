"""Celery entry points: load by id, call a service, nothing else. Services send these by name
(clearance.services.enqueue), so they never import this module."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from clearance.engines.customs import CustomsGatewayUnavailable
from clearance.services import enqueue
from clearance.services.audit import audit_anchor_create
from clearance.services.checks import CHECK_RETRY, check_fail, check_run, checks_reconcile
from clearance.services.dispatch import calls_expire, dispatch_run
from clearance.services.events import events_purge
from clearance.services.operations import idempotency_records_purge, worker_heartbeat_record
from clearance.services.slots import slots_generate, slots_sweep_no_shows
from clearance.services.webhooks import event_fan_out, webhook_deliver, webhooks_sweep

DATABASE_LOST = (OperationalError, InterfaceError)
DATABASE_RETRY_SECONDS = 3


@shared_task(
    name=enqueue.CHECK_RUN_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=CHECK_RETRY.max_attempts - 1,
)
def check_run_task(self, check_id: int) -> None:
    try:
        check_run(check_id=check_id, task_id=self.request.id)
    except CustomsGatewayUnavailable as error:
        if self.request.retries >= self.max_retries:
            check_fail(check_id=check_id, error=f"Customs system unavailable: {error}")
            return
        raise self.retry(exc=error, countdown=CHECK_RETRY.countdown(self.request.retries)) from error
    except DATABASE_LOST as error:
        # The database blipped mid-check: try again in a few seconds rather than wait for reconciliation.
        if self.request.retries >= self.max_retries:
            raise
        raise self.retry(exc=error, countdown=DATABASE_RETRY_SECONDS) from error


@shared_task(name=enqueue.CHECKS_RECONCILE_TASK, acks_late=True)
def checks_reconcile_task() -> None:
    checks_reconcile()


@shared_task(name=enqueue.DISPATCH_TASK, acks_late=True)
def dispatch_task() -> None:
    dispatch_run()


@shared_task(name=enqueue.CALLS_EXPIRE_TASK, acks_late=True)
def calls_expire_task() -> None:
    calls_expire()


@shared_task(name=enqueue.SLOTS_SWEEP_NO_SHOWS_TASK, acks_late=True)
def slots_sweep_no_shows_task() -> None:
    slots_sweep_no_shows()


@shared_task(name=enqueue.SLOTS_GENERATE_TASK, acks_late=True)
def slots_generate_task() -> None:
    slots_generate()


@shared_task(name=enqueue.AUDIT_ANCHOR_TASK, acks_late=True)
def audit_anchor_task() -> None:
    audit_anchor_create()


@shared_task(name=enqueue.IDEMPOTENCY_PURGE_TASK, acks_late=True)
def idempotency_purge_task() -> None:
    idempotency_records_purge()


@shared_task(name=enqueue.WORKER_HEARTBEAT_TASK, bind=True)
def worker_heartbeat_task(self) -> None:
    worker_heartbeat_record(worker=self.request.hostname or "in-process")


@shared_task(name=enqueue.WEBHOOK_FAN_OUT_TASK, acks_late=True)
def webhook_fan_out_task(event_id: int) -> None:
    event_fan_out(event_id=event_id)


@shared_task(name=enqueue.WEBHOOK_DELIVER_TASK, acks_late=True)
def webhook_deliver_task(delivery_id: int) -> None:
    webhook_deliver(delivery_id=delivery_id)


@shared_task(name=enqueue.WEBHOOKS_SWEEP_TASK, acks_late=True)
def webhooks_sweep_task() -> None:
    webhooks_sweep()


@shared_task(name=enqueue.EVENTS_PURGE_TASK, acks_late=True)
def events_purge_task() -> None:
    events_purge()
