"""Services send tasks straight to the broker (``Celery.send_task``) instead of through each task's own
``apply_async``: the message a worker receives must be the same, or a check would run differently."""

from __future__ import annotations

import base64
import json

import pytest
import redis

from clearance.models import Check
from clearance.services import enqueue
from smartgate.celery import app as celery_app
from tests.e2e.conftest import point_celery_at

# Differ between any two messages.
PER_MESSAGE = {"id", "root_id", "correlation_id", "delivery_tag"}


@pytest.fixture
def broker(redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    point_celery_at(redis_url)
    yield redis.Redis.from_url(redis_url)
    point_celery_at(None)
    redis.Redis.from_url(redis_url).flushdb()


def received(broker, queue: str) -> dict:
    message = json.loads(broker.rpop(queue))
    properties = {k: v for k, v in message["properties"].items() if k not in PER_MESSAGE}
    properties["delivery_info"] = message["properties"]["delivery_info"]
    return {
        "headers": {k: v for k, v in message["headers"].items() if k not in PER_MESSAGE},
        "properties": properties,
        "body": json.loads(base64.b64decode(message["body"])),
    }


@pytest.mark.parametrize(
    "name, queue, args",
    [
        (enqueue.CHECK_RUN_TASK, "customs", [42]),
        (enqueue.DISPATCH_TASK, enqueue.GATE_QUEUE, []),
        (enqueue.WEBHOOK_DELIVER_TASK, enqueue.WEBHOOKS_QUEUE, [7]),
    ],
)
def test_a_sent_task_is_the_message_its_own_apply_async_would_send(broker, name, queue, args):
    assert enqueue.task_send(name, queue=queue, args=args)
    ours = received(broker, queue)
    celery_app.tasks[name].apply_async(args=args, queue=queue, retry=False)
    theirs = received(broker, queue)

    assert ours == theirs
    assert ours["headers"]["task"] == name and ours["body"][0] == args
    # Said outright: once the app is finalized (an eager test ran first), send_task finds them itself.
    conf = celery_app.conf
    assert ours["headers"]["timelimit"] == [conf.task_time_limit, conf.task_soft_time_limit]
    assert ours["headers"]["ignore_result"] is True


def test_sends_through_one_producer_reach_each_queue_as_apply_async_would_send_them(broker):
    # A declaration's checks: one message per force's queue, written to Redis together (kombu's publish
    # batch) when the last is sent.
    sends = [(enqueue.CHECK_RUN_TASK, queue, [index]) for index, queue in enumerate(Check.Kind, start=1)]
    enqueue.tasks_send(sends)
    ours = {queue: received(broker, queue) for _name, queue, _args in sends}
    for name, queue, args in sends:
        celery_app.tasks[name].apply_async(args=args, queue=queue, retry=False)
    theirs = {queue: received(broker, queue) for _name, queue, _args in sends}

    assert ours == theirs
    assert [ours[queue]["body"][0] for _name, queue, _args in sends] == [args for _name, _queue, args in sends]
    assert all(broker.llen(queue) == 0 for _name, queue, _args in sends)


def test_a_declarations_check_messages_cost_one_write_to_the_broker(broker, monkeypatch):
    # The connection opened and each check queue declared (a queue's first send on a connection declares it,
    # two writes more): what follows is the messages alone.
    enqueue.tasks_send([(enqueue.CHECK_RUN_TASK, queue, [0]) for queue in Check.Kind])
    broker.delete(*Check.Kind)
    writes = []
    send = redis.connection.AbstractConnection.send_packed_command
    monkeypatch.setattr(
        redis.connection.AbstractConnection,
        "send_packed_command",
        lambda connection, command, check_health=True: (
            writes.append(command) or send(connection, command, check_health)
        ),
    )

    enqueue.tasks_send([(enqueue.CHECK_RUN_TASK, queue, [index]) for index, queue in enumerate(Check.Kind, start=1)])

    assert len(writes) == 1
    assert [broker.llen(queue) for queue in Check.Kind] == [1] * len(Check.Kind)
