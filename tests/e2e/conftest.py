"""End-to-end fixtures: a real Celery worker on Redis against the real PostgreSQL test database."""

import time

import pytest
import redis
from django.db import connection

from clearance.models import RiskSettings
from clearance.services.enqueue import broker_circuit
from smartgate.celery import app as celery_app


def wait_until(condition, *, timeout: float = 30, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def point_celery_at(url: str) -> None:
    """Send tasks to ``url`` from this test process (tasks otherwise run in-process in tests)."""
    celery_app.conf.task_always_eager = url is None
    celery_app.conf.broker_url = url or "memory://"
    # Drop pooled connections made for the previous broker.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    broker_circuit.reset()  # a broker found down by an earlier test says nothing of this one


@pytest.fixture
def database_url(transactional_db) -> str:
    if connection.vendor != "postgresql":
        pytest.skip("end-to-end tests share the database with a worker process: PostgreSQL only")
    config = connection.settings_dict
    password = f":{config['PASSWORD']}" if config["PASSWORD"] else ""
    return f"postgres://{config['USER']}{password}@{config['HOST']}:{config['PORT']}/{config['NAME']}"


@pytest.fixture
def broker(redis_url, database_url):
    """This process sends tasks to Redis, whose test queues start empty."""
    redis.Redis.from_url(redis_url).flushdb()
    point_celery_at(redis_url)
    yield redis_url
    point_celery_at(None)
    redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def no_random_selection(transactional_db):
    RiskSettings.current()
    RiskSettings.objects.update(random_rate_percent=0, random_rate_priority_percent=0, random_rate_floor_percent=0)


@pytest.fixture
def worker(start_worker, broker, database_url, no_random_selection):
    """Start a worker (more with ``worker.start(**env)``) on every queue against the test database."""

    def start(**env):
        return start_worker(database_url=database_url, extra_env=env)

    return start
