import copy
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.factories import EXAMPLE, CompanyFactory, arrival_in, client_for, forwarder
from tests.services import reachable, services_required

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def postgresql_only(request):
    """A test marked ``postgresql`` asserts PostgreSQL's own figures: the query budgets count one statement
    for what SQLite, the embedded default, writes row by row, and compiled SQL is PostgreSQL's. On SQLite it
    is skipped, saying so; CI runs on PostgreSQL (SMARTGATE_REQUIRE_SERVICES)."""
    if request.node.get_closest_marker("postgresql") is None:
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL figure (query budget or compiled SQL): the embedded SQLite writes row by row")


@pytest.fixture
def reference(db):
    """Lạng Sơn's gates, routes, lanes and yards, loaded the way an installation loads them, and the
    smart-lane goods groups its migration seeds (a transactional test's flush empties every table)."""
    from clearance.eligibility_data import smart_lane_groups_seed
    from clearance.models import SmartLaneGoodsGroup

    call_command("load_reference", stdout=open(os.devnull, "w"))
    smart_lane_groups_seed(SmartLaneGoodsGroup)


@pytest.fixture
def tariff(db):
    """The sample infrastructure-use tariff, loaded as an installation loads it."""
    from clearance.models import Tariff

    call_command("load_tariff", stdout=io.StringIO())
    return Tariff.objects.get()


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with no throttle or failed-guess counters left by another, and no key, device or
    subscriber cached in this process by another (tests change rows behind the ORM's back)."""
    from django.core.cache import cache

    from vehicles.process_cache import clear_all_process_caches

    cache.clear()
    clear_all_process_caches()


@pytest.fixture(autouse=True)
def no_random_selection(request):
    """Customs random selection off, so a rule or a flow under test is never disturbed by chance; tests of
    random selection turn it on themselves. Only for tests that use the database."""
    names = request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in names or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    elif "db" in names or marker:
        request.getfixturevalue("db")
    else:
        return
    from clearance.models import RiskSettings

    RiskSettings.current()
    RiskSettings.objects.update(random_rate_percent=0, random_rate_priority_percent=0, random_rate_floor_percent=0)


@pytest.fixture
def company(db):
    """The forwarder (FORWARDER in tests/factories.py): DeclarationFactory declares for it unless told."""
    return forwarder()


@pytest.fixture
def other_company(db):
    return CompanyFactory(tax_code="0100109106", name="Tổng công ty Kho vận Đồng Đăng")


@pytest.fixture
def api(company, reference):
    """The forwarder's ERP client."""
    return client_for(company)


@pytest.fixture
def other_api(other_company, reference):
    return client_for(other_company)


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ["SMARTGATE_TEST_REDIS_URL"]
    if not reachable(url):
        if services_required():
            pytest.fail(f"Redis at {url} is unreachable and services are required")
        pytest.skip(f"Redis at {url} is unreachable")
    return url


class WorkerProcess:
    """A real `celery worker` in its own process, on Redis, against the test database."""

    def __init__(
        self,
        *,
        broker_url: str,
        database_url: str | None,
        queues: str,
        concurrency: int = 2,
        extra_env: dict | None = None,
    ):
        self.hostname = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.broker_url = broker_url
        self.database_url = database_url
        self.queues = queues
        self.concurrency = concurrency
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None
        self.log_path = REPO_ROOT / "test-artifacts" / f"worker-{uuid.uuid4().hex[:8]}.log"

    def environment(self) -> dict:
        env = {**os.environ, "CELERY_BROKER_URL": self.broker_url, "DJANGO_DEBUG": "true", **self.extra_env}
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env

    def start(self) -> "WorkerProcess":
        self.log_path.parent.mkdir(exist_ok=True)
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "smartgate",
                "worker",
                "-Q",
                self.queues,
                "-c",
                str(self.concurrency),
                "-n",
                self.hostname,
                "--without-gossip",
                "--without-mingle",
                "-l",
                "info",
            ],
            cwd=REPO_ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()}")
            if "ready." in self.log_path.read_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.log_path.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def start_worker(redis_url):
    """Start real Celery workers; each is stopped at the end of the test."""
    workers: list[WorkerProcess] = []

    def start(
        *,
        queues: str = "default,customs,border_guard,quarantine,health,gate,webhooks",
        database_url: str | None = None,
        concurrency: int = 2,
        extra_env: dict | None = None,
    ) -> WorkerProcess:
        worker = WorkerProcess(
            broker_url=redis_url, database_url=database_url, queues=queues, concurrency=concurrency, extra_env=extra_env
        )
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def declaration_body():
    """The example body of the API contract, arriving tomorrow; a fresh copy per call."""

    def build(**overrides) -> dict:
        body = copy.deepcopy(EXAMPLE)
        body["expected_arrival"] = arrival_in(24)
        body.update(overrides)
        return body

    return build


@pytest.fixture
def declare(api, declaration_body):
    """POST a declaration as the company and return the response."""

    def post(client=None, **overrides):
        return (client or api).post("/api/v1/declarations/", declaration_body(**overrides), format="json")

    return post
