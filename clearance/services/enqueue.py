"""Work for later, sent by task name after the transaction commits.

Services never import ``clearance.tasks`` (tasks import services): they send a task by its name, which
Celery resolves to the registered task (run in-process under the embedded default's eager mode). A
broker that cannot be reached is logged, not raised: the durable record of the work (a check row, the
queue itself) is already committed, and reconciliation or the periodic dispatcher picks it up.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

# The registered names of the tasks services send (clearance/tasks.py declares them with these names).
CHECK_RUN_TASK = "clearance.tasks.check_run_task"
CHECKS_RECONCILE_TASK = "clearance.tasks.checks_reconcile_task"
DISPATCH_TASK = "clearance.tasks.dispatch_task"
CALLS_EXPIRE_TASK = "clearance.tasks.calls_expire_task"
SLOTS_SWEEP_NO_SHOWS_TASK = "clearance.tasks.slots_sweep_no_shows_task"
SLOTS_GENERATE_TASK = "clearance.tasks.slots_generate_task"
AUDIT_ANCHOR_TASK = "clearance.tasks.audit_anchor_task"
IDEMPOTENCY_PURGE_TASK = "clearance.tasks.idempotency_purge_task"
WORKER_HEARTBEAT_TASK = "clearance.tasks.worker_heartbeat_task"
WEBHOOK_FAN_OUT_TASK = "clearance.tasks.webhook_fan_out_task"
WEBHOOK_DELIVER_TASK = "clearance.tasks.webhook_deliver_task"
WEBHOOKS_SWEEP_TASK = "clearance.tasks.webhooks_sweep_task"
EVENTS_PURGE_TASK = "clearance.tasks.events_purge_task"

# The queue the gate's work (dispatch, sweeps) runs on; each check kind has a queue of its own name.
GATE_QUEUE = "gate"
# Webhook deliveries have their own queue: a slow receiver never holds back checks or the gate.
WEBHOOKS_QUEUE = "webhooks"


# After a send fails, sends are skipped for this long: a request never waits on a broker known to be down
# (each failed attempt costs a connection timeout); the outbox sends the work once the broker is back.
BROKER_DOWN_BACKOFF_SECONDS = 10.0


class _BrokerCircuit:
    def __init__(self) -> None:
        self._open_until = 0.0
        self._lock = threading.Lock()

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self) -> None:
        with self._lock:
            self._open_until = time.monotonic() + BROKER_DOWN_BACKOFF_SECONDS

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0


broker_circuit = _BrokerCircuit()


def task_send(name: str, *, queue: str, args: Iterable = (), producer=None) -> bool:
    """Send one task now; False (logged) when the broker cannot take it, or failed moments ago. Many sends
    share one ``producer`` (``tasks_send``) rather than each taking one from the pool; inside its publish
    batch, True means buffered, and the batch's end reports a failure to write them."""
    if broker_circuit.is_open() and not current_app.conf.task_always_eager:
        logger.info("task.enqueue_skipped", extra={"task": name, "queue": queue})
        return False
    try:
        options = {"producer": producer} if producer is not None else {}
        if current_app.conf.task_always_eager:  # the embedded default: the task runs here and now
            current_app.signature(name, args=list(args)).apply_async(queue=queue, retry=False, **options)
        else:
            # Straight to the broker, for a quarter less CPU (0.8 ms of a declaration's four sends): the
            # message the task's own apply_async sends (tests/clearance/test_task_sends.py). For our tasks
            # that adds the configured time limits and ``ignore_result`` (none sets its own); the web
            # process's Celery app is not finalized, so send_task would not find them by itself.
            conf = current_app.conf
            current_app.send_task(
                name,
                args=list(args),
                queue=queue,
                retry=False,
                ignore_result=conf.task_ignore_result,
                time_limit=conf.task_time_limit,
                soft_time_limit=conf.task_soft_time_limit,
                **options,
            )
    except Exception:  # kombu raises several types for an unreachable broker
        broker_circuit.trip()
        logger.warning("task.enqueue_failed", extra={"task": name, "queue": queue}, exc_info=True)
        return False
    return True


# A batch's sends go to this one thread after commit, so the forwarder's answer does not wait for
# hundreds of broker round trips (each check row is the outbox: a send lost with the process is retaken by
# reconciliation). One thread keeps them in order and bounds the work.
_background_sends = ThreadPoolExecutor(max_workers=1, thread_name_prefix="task-sends")
SENDS_IN_BACKGROUND_FROM = 30


def tasks_send(sends: list[tuple[str, str, list]]) -> None:
    """Send ``(task name, queue, args)`` one after the other through one producer (a batch's checks and
    events): the broker connection is taken from the pool once, not once per message. Many sends (a
    batch's) are handed to a background thread."""
    if len(sends) <= 1 or current_app.conf.task_always_eager:
        for name, queue, args in sends:
            task_send(name, queue=queue, args=args)
        return
    if len(sends) >= SENDS_IN_BACKGROUND_FROM:
        # In the request's context: the request id still goes with each task.
        _background_sends.submit(contextvars.copy_context().run, _send_through_one_producer, sends)
    else:
        _send_through_one_producer(sends)


def _send_through_one_producer(sends: list[tuple[str, str, list]]) -> None:
    try:
        # kombu's publish batch: the messages go to Redis in one pipeline when the batch ends (one round
        # trip and one client), not one LPUSH each.
        with current_app.producer_or_acquire() as producer, producer.batch():
            for name, queue, args in sends:
                task_send(name, queue=queue, args=args, producer=producer)
    except Exception:  # no connection, or the batch's write failed (delivery uncertain): the outbox resends
        logger.warning(
            "task.enqueue_failed",
            extra={"task": sends[0][0], "queue": sends[0][1], "count": len(sends)},
            exc_info=True,
        )
        broker_circuit.trip()


def checks_enqueue(checks: Iterable[tuple[int, str]]) -> None:
    """Send one task per ``(check id, kind)`` to its force's queue."""
    tasks_send([(CHECK_RUN_TASK, kind, [check_id]) for check_id, kind in checks])


def checks_enqueue_on_commit(checks: Iterable[tuple[int, str]]) -> None:
    checks = list(checks)
    transaction.on_commit(lambda: checks_enqueue(checks))


def dispatch_soon() -> None:
    """Ask for a dispatch after this transaction commits, when something freed room or made a vehicle
    eligible; the periodic dispatcher covers it if the broker cannot be reached."""
    transaction.on_commit(lambda: task_send(DISPATCH_TASK, queue=GATE_QUEUE))
