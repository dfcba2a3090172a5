"""Celery entry points: load by id, call a service, nothing else."""

from celery import shared_task

from clearance.engines.customs import CustomsGatewayUnavailable
from clearance.services.checks import check_fail, check_run, checks_reconcile
from clearance.services.queue import calls_expire, dispatch_run, slots_generate, slots_sweep_no_shows

CHECK_MAX_RETRIES = 8


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=CHECK_MAX_RETRIES)
def check_run_task(self, check_id: int) -> None:
    try:
        check_run(check_id=check_id, task_id=self.request.id)
    except CustomsGatewayUnavailable as error:
        if self.request.retries >= CHECK_MAX_RETRIES:
            check_fail(check_id=check_id, error=f"Customs system unavailable: {error}")
            return
        raise self.retry(exc=error, countdown=min(2**self.request.retries, 300)) from error


@shared_task(acks_late=True)
def checks_reconcile_task() -> None:
    checks_reconcile()


@shared_task(acks_late=True)
def dispatch_task() -> None:
    dispatch_run()


@shared_task(acks_late=True)
def calls_expire_task() -> None:
    calls_expire()


@shared_task(acks_late=True)
def slots_sweep_no_shows_task() -> None:
    slots_sweep_no_shows()


@shared_task(acks_late=True)
def slots_generate_task() -> None:
    slots_generate()
