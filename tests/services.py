"""A pytest plugin loaded before Django (``-p tests.services``): choose the services the suite runs on.

Tests run against real PostgreSQL and Redis whenever they are reachable. Unless DATABASE_URL is set,
PostgreSQL on 127.0.0.1:5432 is used when it answers, SQLite otherwise. With
SMARTGATE_REQUIRE_SERVICES=1 (as .ci/run sets) an unreachable PostgreSQL or Redis stops the run
instead of falling back or skipping, so CI never passes on SQLite by accident.
"""

import os
import socket
from urllib.parse import urlparse

import pytest

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/smartgate"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def services_required() -> bool:
    return os.environ.get("SMARTGATE_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port), timeout=1):
            return True
    except OSError:
        return False


def _choose_database() -> None:
    if os.environ.get("DATABASE_URL"):
        return
    if reachable(DEFAULT_DATABASE_URL):
        os.environ["DATABASE_URL"] = DEFAULT_DATABASE_URL
    elif services_required():
        raise pytest.UsageError(
            f"PostgreSQL is required (SMARTGATE_REQUIRE_SERVICES=1) but {DEFAULT_DATABASE_URL} is unreachable."
        )


def _choose_redis() -> None:
    url = os.environ.setdefault("SMARTGATE_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    if services_required() and not reachable(url):
        raise pytest.UsageError(f"Redis is required (SMARTGATE_REQUIRE_SERVICES=1) but {url} is unreachable.")


# The suite's own processes run tasks in-process unless a test starts a real worker; a broker URL from
# the developer's shell must not turn unit tests into tests of a worker that is not there.
os.environ.pop("CELERY_BROKER_URL", None)
os.environ.setdefault("DJANGO_DEBUG", "true")
_choose_database()
_choose_redis()


def pytest_report_header(config) -> list[str]:
    database = os.environ.get("DATABASE_URL", "sqlite (embedded default)")
    return [f"smartgate services: database={database} redis={os.environ['SMARTGATE_TEST_REDIS_URL']}"]
