"""The Celery reliability settings, read back from the configured app and from a running worker.

A misspelled setting name fails silently in Celery, so each one is checked where it takes effect.
"""

import pytest
from celery import Celery

from smartgate.celery import app

EXPECTED_QUEUES = {"default", "customs", "border_guard", "quarantine", "health", "gate", "webhooks"}


def test_app_reliability_settings():
    conf = app.conf

    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert {queue.name for queue in conf.task_queues} == EXPECTED_QUEUES


def test_embedded_default_runs_tasks_in_process():
    assert app.conf.task_always_eager is True


@pytest.mark.redis
def test_running_worker_reports_the_same_settings(start_worker, redis_url):
    worker = start_worker()
    control = Celery(broker=redis_url).control

    replies = control.inspect(timeout=5).conf(with_defaults=True)
    conf = next(iter(replies.values()))
    queues = next(iter(control.inspect(timeout=5).active_queues().values()))

    assert conf["task_acks_late"] is True
    assert conf["task_reject_on_worker_lost"] is True
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["task_serializer"] == "json"
    assert conf["accept_content"] == ["json"]
    assert conf["task_time_limit"] == app.conf.task_time_limit
    assert conf["task_always_eager"] is False
    assert {queue["name"] for queue in queues} == EXPECTED_QUEUES
    # Each queue is reached by its own routing key, so a message lands in one queue only.
    assert {queue["name"]: queue["routing_key"] for queue in queues} == {name: name for name in EXPECTED_QUEUES}
    assert worker.process.poll() is None
