"""The Celery app, configured from Django settings (CELERY_* names) and autodiscovering tasks.

With SMARTGATE_WORKER_METRICS_PORT set, a worker serves its Prometheus counters (checks by kind and outcome,
their durations) on that port (address SMARTGATE_WORKER_METRICS_ADDR, 127.0.0.1 unless told); its pool
processes are added up when PROMETHEUS_MULTIPROC_DIR names an empty directory.

The signals below put the task id and name (and the request id of the request that sent the task) on
every log line a task writes (smartgate.logs).
"""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_init
from django.db import connections
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

from smartgate import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartgate.settings")

app = Celery("smartgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_REQUEST_ID_HEADER = "smartgate_request_id"
# Log context tokens of the tasks running in this process, by task id (an eager task may run inside another).
_log_tokens: dict[str, tuple] = {}


@before_task_publish.connect
def _send_request_id(headers=None, **_kwargs) -> None:
    request_id = logs.current_request_id()
    if request_id and headers is not None:
        headers.setdefault(_REQUEST_ID_HEADER, request_id)


@task_prerun.connect
def _bind_task_to_logs(task_id=None, task=None, **_kwargs) -> None:
    request = getattr(task, "request", None)
    request_id = getattr(request, _REQUEST_ID_HEADER, None) or (getattr(request, "headers", None) or {}).get(
        _REQUEST_ID_HEADER
    )
    _log_tokens[task_id] = logs.bind_task(task_id=task_id, task_name=task.name, request_id=request_id)


@task_postrun.connect
def _unbind_task_from_logs(task_id=None, **_kwargs) -> None:
    tokens = _log_tokens.pop(task_id, None)
    if tokens is not None:
        logs.unbind_task(tokens)


@task_postrun.connect
def _connections_back_to_the_pool(task=None, **_kwargs) -> None:
    """After a task, as after a request: each database connection goes back to the process's pool (Django's
    ``close()`` with the pool on; without it, the connection closes), with its prepared statements. The
    next task takes one from the pool, checked first (CONN_HEALTH_CHECKS: the pool's own check), so a
    PostgreSQL restart costs no task. Celery's fixup no longer does this (CELERY_DB_REUSE_MAX): it closed
    the pool too. An eager task runs inside its caller's request or transaction: left alone."""
    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.in_atomic_block:
            connection.close()


@worker_init.connect
def _serve_worker_metrics(**_kwargs) -> None:
    port = os.environ.get("SMARTGATE_WORKER_METRICS_PORT")
    if not port:
        return
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    start_http_server(int(port), addr=os.environ.get("SMARTGATE_WORKER_METRICS_ADDR", "127.0.0.1"), registry=registry)
