"""A pytest plugin loaded before Django (``-p tests.services``): choose the services the suite runs on.

Tests run against real PostgreSQL and Redis whenever they are reachable. Unless DATABASE_URL is set,
PostgreSQL on 127.0.0.1:5432 is used when it lets user postgres in without a password, SQLite otherwise
(the header says why). On PostgreSQL each run has its own test database, test_<name>_<pid>. With
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


def _postgres_lets_us_in(url: str) -> str | None:
    """None when a connection as the URL's user succeeds; otherwise why not (wrong password, no such role...)."""
    try:
        import psycopg

        parsed = urlparse(url)
        with psycopg.connect(
            host=parsed.hostname,
            port=parsed.port,
            user=parsed.username,
            password=parsed.password,
            dbname="postgres",
            connect_timeout=3,
        ):
            return None
    except Exception as error:  # psycopg's errors, or psycopg missing
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _choose_database() -> None:
    if not os.environ.get("DATABASE_URL"):
        refused = _postgres_lets_us_in(DEFAULT_DATABASE_URL) if reachable(DEFAULT_DATABASE_URL) else "unreachable"
        if refused is None:
            os.environ["DATABASE_URL"] = DEFAULT_DATABASE_URL
        elif services_required():
            raise pytest.UsageError(
                f"PostgreSQL is required (SMARTGATE_REQUIRE_SERVICES=1) but {DEFAULT_DATABASE_URL} did not let us in "
                f"({refused}); set DATABASE_URL=postgres://user:password@host:port/name."
            )
        else:
            os.environ["SMARTGATE_TEST_DATABASE_NOTE"] = f"{DEFAULT_DATABASE_URL}: {refused}; SQLite instead"
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        # A test database of this run's own, so two runs (two checkouts, CI beside a developer) never share
        # or drop each other's; pytest-django drops it at the end of the run.
        name = urlparse(os.environ["DATABASE_URL"]).path.lstrip("/") or "smartgate"
        os.environ.setdefault("DATABASE_TEST_NAME", f"test_{name}_{os.getpid()}")


def _choose_redis() -> None:
    url = os.environ.setdefault("SMARTGATE_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw"):
        # Each pytest-xdist worker (make test runs two) flushes a Redis db of its own, counting down from the
        # run's: gw0 the run's db, gw1 the one below it, ... (its test database gets pytest-django's _gwN suffix).
        parsed = urlparse(url)
        base = int(parsed.path.lstrip("/") or 0)
        url = parsed._replace(path=f"/{(base - int(worker[2:])) % 16}").geturl()
        os.environ["SMARTGATE_TEST_REDIS_URL"] = url
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
    test_database = os.environ.get("DATABASE_TEST_NAME", "in memory")
    lines = [
        f"smartgate services: database={database} (test database {test_database}) "
        f"redis={os.environ['SMARTGATE_TEST_REDIS_URL']}"
    ]
    if os.environ.get("SMARTGATE_TEST_DATABASE_NOTE"):
        lines.append(f"smartgate services: {os.environ['SMARTGATE_TEST_DATABASE_NOTE']}")
    return lines
