"""Faults of issue 13 injected into a live stack this script starts on 127.0.0.1; prints what clients saw.

    .venv/bin/python bench/faults.py            # every scenario, about 5 minutes
    .venv/bin/python bench/faults.py --quick    # shorter faults and less load, about 4 minutes

The stack: its own redis-server (broker and cache, on a free port, stopped and restarted by scenario 1),
its own PostgreSQL database on 127.0.0.1:5432 (``smartgate_faults``, created afresh, dropped at the end),
gunicorn (2 sync workers, production settings), one Celery worker on every queue (``-c 2``) and Celery
beat (the database scheduler: reconciliation of the checks outbox every 10 s, the worker heartbeat).

Scenarios, each under a paced load of client threads POSTing declarations (each with its own
Idempotency-Key) and GETting the list:
  1. Redis stopped for 15 s; then the worker's survival of the Redis restart.
  2. The database's PostgreSQL backends terminated twice (pg_terminate_backend from another connection).
  3. 100 concurrent POSTs with one Idempotency-Key (and 100 with one key and a body the server refuses).
  4. The worker killed (SIGKILL to its process group) three times, restarted each time.
After the load, every POST is sent again with its key and body (no sooner than 10 s after the fault ended)
and the answers compared. Printed per scenario: requests sent, answers by status (problem code for
errors), responses lost (no HTTP answer, or a committed effect answered differently on retry), keys stuck
(the retry still answers 409 idempotency_request_in_progress), declarations not decided (still submitted
or checking) 60 s after the last fault. Asserts nothing. Logs of the stack are kept with --keep-logs.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import redis  # noqa: E402
from stdnum import iso6346  # noqa: E402

from bench.common import REPO_ROOT, percentile  # noqa: E402

DATABASE_URL = os.environ.get("FAULTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smartgate_faults")
DATABASE_NAME = DATABASE_URL.rsplit("/", 1)[1]
ADMIN_URL = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
TAX_CODE = "0101234565"
NOT_DECIDED = ("submitted", "checking")
IN_PROGRESS = "idempotency_request_in_progress"
VN = timezone(timedelta(hours=7))
LAPTOPS = [
    {
        "hs_code": "84713020",
        "description": "Laptops",
        "quantity": "500",
        "unit": "PCE",
        "gross_weight_kg": "2000",
        "value": "150000.00",
        "currency": "USD",
        "origin_country": "VN",
    }
]
_trucks = itertools.count()
# One row per scenario for the closing summary: title, sent, non-503 5xx, lost, keys stuck, undecided.
SUMMARY: list[tuple[str, int, int, int, int, int | str]] = []


def truck_body() -> dict:
    """A valid declaration of a truck never declared before in this run: its own plate, permit, customs
    number and container, arriving in 24 hours (past every route's notice)."""
    n = next(_trucks)
    number = 30000 + n
    container = f"TSTU{n:06d}"
    arrival = datetime.now(VN) + timedelta(hours=24)
    return {
        "direction": "export",
        "route": "1119-1120",
        "expected_arrival": arrival.isoformat(timespec="seconds"),
        "customs_declarations": [{"number": f"3070{number:08d}", "type": "B11"}],
        "vehicle": {
            "plate": f"12C-{number // 100:03d}.{number % 100:02d}",
            "country": "VN",
            "max_gross_weight_kg": 40000,
            "permit_number": f"VN-CN-2026-{number}",
            "permit_expires": str(arrival.date() + timedelta(days=365)),
        },
        "driver": {
            "full_name": "Nguyễn Văn An",
            "nationality": "VN",
            "document_type": "passport",
            "document_number": "C1234567",
            "document_expires": "2030-01-01",
        },
        "containers": [
            {"number": container + iso6346.calc_check_digit(container), "size": "40", "seals": [f"SEAL{n:06d}"]}
        ],
        "goods": LAPTOPS,
    }


# --- The stack ----------------------------------------------------------------------------------------


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn and redis bind
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise SystemExit("no free port")


class Stack:
    """The processes this script started, each in its own session so a signal reaches its children."""

    def __init__(self, *, redis_port: int, web_port: int, logs: Path):
        self.redis_port, self.web_port, self.logs = redis_port, web_port, logs
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "SMARTGATE_", "CELERY_", "DATABASE_", "CACHE_", "API_"))
        }
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "smartgate.settings",
                "DATABASE_URL": DATABASE_URL,
                "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
                "CACHE_URL": f"redis://127.0.0.1:{redis_port}/1",
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": "faults-bench-only-" + uuid.uuid4().hex + uuid.uuid4().hex,
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
                "DJANGO_SECURE_SSL_REDIRECT": "false",
                "DJANGO_SECURE_COOKIES": "false",
                "DJANGO_SECURE_HSTS_SECONDS": "0",
                "SMARTGATE_PAYMENT_SECRET": "faults-bench-only",
                "API_THROTTLE_RATE": "1000000/min",  # throttled still (through the cache), never refused
                "LOG_LEVEL": "INFO",
                "LOG_FORMAT": "json",
                "PYTHONUNBUFFERED": "1",
            }
        )

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (kept open by the child)
        proc = subprocess.Popen(
            argv, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.procs[name] = proc
        return proc

    def log_size(self, name: str) -> int:
        path = self.logs / f"{name}.log"
        return path.stat().st_size if path.exists() else 0

    def log_since(self, name: str, offset: int) -> str:
        with open(self.logs / f"{name}.log", "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def manage(self, *argv: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *argv], cwd=REPO_ROOT, env=self.env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    # redis
    def start_redis(self) -> None:
        self._spawn(
            "redis",
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--daemonize", "no"],
        )
        client = redis.Redis(port=self.redis_port, socket_connect_timeout=0.2)
        for _ in range(100):
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    return
            time.sleep(0.1)
        raise SystemExit("redis-server did not start")

    def stop_redis(self) -> None:
        self._stop("redis")

    # web
    def start_web(self) -> None:
        self._spawn(
            "web",
            [sys.executable, "-m", "gunicorn", "smartgate.wsgi:application", "--bind", f"127.0.0.1:{self.web_port}"]
            + ["--workers", "2", "--log-level", "warning"],
        )
        for _ in range(300):
            answer = call(self.web_port, "GET", "/healthz/live", timeout=2)
            if answer.status == 200:
                return
            time.sleep(0.1)
        raise SystemExit("gunicorn did not start")

    # worker and beat
    def start_worker(self, *, wait: bool = True) -> None:
        offset = self.log_size("worker")
        self._spawn(
            "worker",
            [sys.executable, "-m", "celery", "-A", "smartgate", "worker"]
            + ["-Q", "default,customs,border_guard,quarantine,health,gate,webhooks", "-c", "2", "-n", "faults@%h"]
            + ["--without-gossip", "--without-mingle", "-l", "info"],
        )
        if wait:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and " ready." not in self.log_since("worker", offset):
                if self.procs["worker"].poll() is not None:
                    raise SystemExit("the Celery worker exited at start; see its log")
                time.sleep(0.2)

    def kill_worker(self) -> None:
        proc = self.procs["worker"]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the main process and its pool: a container killed
        proc.wait()

    def start_beat(self) -> None:
        self._spawn(
            "beat",
            [sys.executable, "-m", "celery", "-A", "smartgate", "beat", "-l", "info"]
            + ["--pidfile", str(self.logs / "beat.pid"), "-s", str(self.logs / "beat-schedule")],
        )

    def alive(self, name: str) -> bool:
        return name in self.procs and self.procs[name].poll() is None

    def _stop(self, name: str) -> None:
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_all(self) -> None:
        for name in ("web", "beat", "worker", "redis"):
            self._stop(name)


def recreate_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def drop_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')


def terminate_backends() -> int:
    """pg_terminate_backend on every connection to the stack's database, from a connection to another."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (DATABASE_NAME,),
        ).fetchall()
    return len(rows)


def query(sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(DATABASE_URL, connect_timeout=5) as conn:
        return conn.execute(sql, params).fetchall()


def last_declaration_id() -> int:
    return query("SELECT coalesce(max(id), 0) FROM clearance_declaration")[0][0]


# --- The clients ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class Answer:
    status: int | None  # None: no HTTP answer
    code: str | None = None  # the problem's code, for errors
    data: dict | None = None
    replayed: bool = False
    error: str = ""
    seconds: float = 0.0
    request_id: str = ""
    sent_at: float = 0.0  # monotonic

    @property
    def label(self) -> str:
        if self.status is None:
            return f"no answer ({self.error})"
        return f"{self.status} {self.code}" if self.code else str(self.status)


def call(port: int, method: str, path: str, *, body=None, headers=None, timeout: float = 30) -> Answer:
    request_id = f"faults-{uuid.uuid4().hex[:16]}"
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(
            method,
            path,
            body=json.dumps(body) if body is not None else None,
            headers={"X-Request-ID": request_id, "Content-Type": "application/json", **(headers or {})},
        )
        response = conn.getresponse()
        payload = response.read()
    except (OSError, http.client.HTTPException) as error:
        return Answer(
            None, error=type(error).__name__, seconds=time.monotonic() - started, request_id=request_id, sent_at=started
        )
    finally:
        conn.close()
    answer = Answer(response.status, seconds=time.monotonic() - started, request_id=request_id, sent_at=started)
    answer.replayed = response.getheader("Idempotent-Replayed") == "true"
    try:
        answer.data = json.loads(payload)
    except ValueError:
        answer.data = {"raw": payload[:200].decode(errors="replace")}
    if response.status >= 400:
        answer.code = answer.data.get("code") if isinstance(answer.data, dict) else None
        answer.code = answer.code or (response.getheader("Content-Type") or "?").split(";")[0]
    return answer


@dataclasses.dataclass
class Post:
    key: str
    body: dict
    answer: Answer
    sent_at: float  # monotonic
    retry: Answer | None = None


class Load:
    """Client threads, each POSTing a new declaration then GETting the list, paced to ``rate`` POSTs/s in all."""

    def __init__(self, port: int, api_key: str, *, clients: int, rate: float):
        self.port, self.clients, self.interval = port, clients, clients / rate
        self.headers = {"Authorization": f"Api-Key {api_key}"}
        self.posts: list[Post] = []
        self.gets: list[Answer] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def _run(self, offset: float) -> None:
        time.sleep(offset)
        while not self.stop.is_set():
            started = time.monotonic()
            key, body = str(uuid.uuid4()), truck_body()
            answer = call(
                self.port, "POST", "/api/v1/declarations/", body=body, headers={**self.headers, "Idempotency-Key": key}
            )
            with self.lock:
                self.posts.append(Post(key, body, answer, started))
            listing = call(self.port, "GET", "/api/v1/declarations/?limit=20", headers=self.headers)
            with self.lock:
                self.gets.append(listing)
            self.stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def start(self) -> None:
        for index in range(self.clients):
            thread = threading.Thread(target=self._run, args=(index * self.interval / self.clients,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


# --- Measuring ------------------------------------------------------------------------------------------


def statuses(answers: list[tuple[str, Answer]]) -> str:
    counts = collections.Counter(f"{method} {answer.label}" for method, answer in answers)
    return ", ".join(f"{label}: {count}" for label, count in sorted(counts.items()))


def declaration_of(customs_number: str) -> list[int]:
    return [
        row[0]
        for row in query(
            "SELECT d.id FROM clearance_declaration d JOIN clearance_customsdeclaration c ON c.declaration_id = d.id "
            "WHERE c.number = %s",
            (customs_number,),
        )
    ]


def retry_posts(port: int, api_key: str, posts: list[Post]) -> dict:
    """Send every POST again with its key and body; compare with the first answer and the database."""
    headers = {"Authorization": f"Api-Key {api_key}"}
    figures = collections.Counter()
    evidence = []
    for post in posts:
        post.retry = call(
            port, "POST", "/api/v1/declarations/", body=post.body, headers={**headers, "Idempotency-Key": post.key}
        )
        first, retry = post.answer, post.retry
        if first.status is None:
            figures["no_answer"] += 1
        if retry.status == 409 and retry.code == IN_PROGRESS:
            figures["stuck"] += 1
            evidence.append(("stuck key", post))
            continue
        committed = declaration_of(post.body["customs_declarations"][0]["number"])
        if first.status == 201:
            if retry.status != 201 or retry.data.get("id") != first.data.get("id") or not retry.replayed:
                figures["answered_differently"] += 1
                evidence.append(("201 answered differently on retry", post))
        elif committed:
            if retry.status == 201 and retry.data.get("id") in committed:
                if first.status is not None and first.status >= 500 and retry.replayed:
                    figures["error_but_committed"] += 1  # said it failed; the retry shows it did not
                    evidence.append((f"{first.status} though its effect committed", post))
            else:
                figures["answered_differently"] += 1
                evidence.append(("committed effect answered differently on retry", post))
        if retry.status is None or retry.status >= 500:
            figures["retry_failed"] += 1
            evidence.append(("retry failed", post))
    return {"figures": figures, "evidence": evidence}


def wait_decided(after_id: int, fault_end: float, limit: float = 60) -> tuple[int, int, float | None, dict]:
    """Poll until every declaration created since ``after_id`` is decided or ``limit`` s after the fault.
    (total, undecided at the deadline, seconds after the fault when the last was decided, statuses)."""
    deadline = fault_end + limit
    while True:
        rows = query("SELECT status, count(*) FROM clearance_declaration WHERE id > %s GROUP BY status", (after_id,))
        by_status = dict(rows)
        undecided = sum(by_status.get(status, 0) for status in NOT_DECIDED)
        if undecided == 0:
            return sum(by_status.values()), 0, max(0.0, time.monotonic() - fault_end), by_status
        if time.monotonic() >= deadline:
            return sum(by_status.values()), undecided, None, by_status
        time.sleep(1)


def error_lines(stack: Stack, name: str, offset: int) -> list[str]:
    """Lines of a log written since ``offset`` at level ERROR or above, or that look like a crash."""
    found = []
    for line in stack.log_since(name, offset).splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            if any(word in line for word in ("Traceback", "Error", "CRITICAL", "Unrecoverable")):
                found.append(line.strip())
            continue
        if isinstance(record, dict) and record.get("level") in ("ERROR", "CRITICAL"):
            found.append(f"{record.get('time')} {record.get('level')} {record.get('logger')} {record.get('message')}")
    return found


def server_errors(answers: list[Answer]) -> int:
    """5xx answers other than the 503 problem+json a lost database is answered with."""
    return sum(a.status is not None and a.status >= 500 and a.code != "database_unavailable" for a in answers)


def one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]


def show_evidence(evidence: list, *, limit: int = 5) -> None:
    for what, post in evidence[:limit]:
        first, retry = post.answer, post.retry
        print(
            f"    evidence: {what}: key {post.key} customs {post.body['customs_declarations'][0]['number']}; "
            f"first {first.label} ({first.seconds:.2f} s, X-Request-ID {first.request_id}) "
            f"{json.dumps(first.data, ensure_ascii=False)[:300] if first.data else ''}; "
            f"retry {retry.label} replayed={retry.replayed} (X-Request-ID {retry.request_id}) "
            f"{json.dumps(retry.data, ensure_ascii=False)[:300] if retry.data else ''}"
        )
    if len(evidence) > limit:
        print(f"    … and {len(evidence) - limit} more")


def supervise(stack: Stack, name: str, starter) -> str:
    """Restart a worker or beat that exited, as compose would; say what happened."""
    if stack.alive(name):
        return f"{name} alive"
    code = stack.procs[name].returncode
    starter()
    return f"{name} EXITED (code {code}), restarted by the bench"


def report_load(title: str, stack: Stack, load: Load, retried: dict, decided: tuple, extra: list[str]) -> None:
    figures = retried["figures"]
    answers = [("POST", post.answer) for post in load.posts] + [("GET", answer) for answer in load.gets]
    total, undecided, last_after, by_status = decided
    lost = figures["no_answer"] + figures["answered_differently"]
    print(f"\n== {title}")
    print(f"  requests sent: {len(answers)} ({len(load.posts)} POST, {len(load.gets)} GET)")
    print(f"  answers by status: {statuses(answers)}")
    print(
        f"  retries (same key and body, >= 10 s after the fault): {len(load.posts)}: "
        f"{statuses([('POST', post.retry) for post in load.posts])}"
    )
    print(
        f"  responses lost: {lost} (no HTTP answer {figures['no_answer']}, committed effect answered differently "
        f"on retry {figures['answered_differently']}); 5xx whose effect had committed: {figures['error_but_committed']}"
    )
    print(
        f"  idempotency keys stuck: {figures['stuck']}; retries failing (no answer or 5xx): {figures['retry_failed']}"
    )
    decided_text = f"all decided {last_after:.0f} s after the fault" if last_after is not None else "NOT all decided"
    print(
        f"  declarations created: {total}; not decided 60 s after the last fault: {undecided} "
        f"({decided_text}; {dict(sorted(by_status.items()))})"
    )
    for line in extra:
        print(f"  {line}")
    show_evidence(retried["evidence"])
    all_answers = [answer for _method, answer in answers] + [post.retry for post in load.posts]
    SUMMARY.append((title.split(" ")[0], len(answers), server_errors(all_answers), lost, figures["stuck"], undecided))


def run_load_scenario(title, stack, api_key, args, fault, *, after: float, extra_check=None) -> None:
    """Load, a fault (``fault`` returns the monotonic times it began and ended, and notes), load ``after`` s more,
    then the retries no sooner than 10 s after the fault, then the wait for the checks."""
    offsets = {name: stack.log_size(name) for name in ("web", "worker", "beat")}
    first_id = last_declaration_id()
    load = Load(stack.web_port, api_key, clients=args.clients, rate=args.rate)
    load.start()
    try:
        fault_start, fault_end, notes = fault(load)
        time.sleep(max(0.0, fault_end + after - time.monotonic()))
    finally:
        load.finish()
    if extra_check:
        notes += extra_check(fault_end)
    time.sleep(max(0.0, fault_end + 10 - time.monotonic()))
    retried = retry_posts(stack.web_port, api_key, load.posts)
    decided = wait_decided(first_id, fault_end)
    for method, answers in (("POST", [post.answer for post in load.posts]), ("GET", load.gets)):
        during = [answer for answer in answers if fault_start <= answer.sent_at <= fault_end]
        if during:
            times = [answer.seconds for answer in during]
            slowest = max(during, key=lambda answer: answer.seconds)
            notes.append(
                f"{method} time during the fault ({fault_end - fault_start:.0f} s): p50 {percentile(times, 0.5):.2f} s,"
                f" max {slowest.seconds:.2f} s ({len(during)} sent; the slowest X-Request-ID {slowest.request_id})"
            )
    for name, offset in offsets.items():
        lines = error_lines(stack, name, offset)
        if lines:
            notes.append(f"{name} log: {len(lines)} ERROR lines, first: {one_line(lines[0])}")
    report_load(title, stack, load, retried, decided, notes)
    for name, starter in (("worker", stack.start_worker), ("beat", stack.start_beat)):
        if not stack.alive(name):
            print(f"  {supervise(stack, name, starter)} before the next scenario")


# --- Scenarios --------------------------------------------------------------------------------------------


def readiness(stack: Stack) -> str:
    answer = call(stack.web_port, "GET", "/healthz/ready", timeout=10)
    if answer.status is None or not isinstance(answer.data, dict) or "checks" not in answer.data:
        return answer.label
    checks = ", ".join(f"{name} {state.get('status')}" for name, state in answer.data["checks"].items())
    return f"{answer.status} {answer.data.get('status')} ({checks})"


def scenario_redis(stack: Stack, api_key: str, args) -> None:
    down_for = 8 if args.quick else 15
    worker_pid = stack.procs["worker"].pid
    worker_offset = stack.log_size("worker")

    def fault(load):
        time.sleep(args.warmup)
        began = time.monotonic()
        stack.stop_redis()
        time.sleep(min(3, down_for))
        notes = [f"readiness with Redis down: {readiness(stack)}"]
        time.sleep(max(0.0, began + down_for - time.monotonic()))  # the readiness call above may be slow
        stack.start_redis()
        return began, time.monotonic(), notes

    def survived(fault_end):
        time.sleep(max(0.0, fault_end + 15 - time.monotonic()))
        log = stack.log_since("worker", worker_offset)
        # The known celery/kombu reconnect trouble: "Unrecoverable error: AttributeError … 'hostname'" (fatal)
        # or "Error on restarting Gossip: AttributeError … 'connection_errors'" (logged, the worker goes on).
        crash = [
            one_line(line, 200)
            for line in log.splitlines()
            if any(sign in line for sign in ("Unrecoverable", "hostname", "Error on restarting"))
        ]
        if stack.alive("worker") and stack.procs["worker"].pid == worker_pid:
            state = "worker SURVIVED the Redis restart (same process, alive 15 s after Redis came back)"
        else:
            state = f"worker EXITED after the Redis restart (code {stack.procs['worker'].returncode})"
        notes = [
            state
            + (f"; its log: {' | '.join(crash[:2])}" if crash else "; no 'Unrecoverable error' or restart error logged")
        ]
        if "Cannot connect" in log or "connection to broker lost" in log.lower():
            reconnected = "Connected to redis" in log.split("Cannot connect")[-1]
            notes.append(f"worker log: lost the broker, {'reconnected' if reconnected else 'no reconnection logged'}")
        notes.append(f"beat {'alive' if stack.alive('beat') else 'EXITED'} after the Redis restart")
        notes.append(f"readiness 15 s after Redis is back: {readiness(stack)}")
        if not stack.alive("worker"):
            notes.append(supervise(stack, "worker", stack.start_worker))  # so its checks can still be decided
        if not stack.alive("beat"):
            notes.append(supervise(stack, "beat", stack.start_beat))
        return notes

    run_load_scenario(
        f"1. Redis stopped for {down_for} s under load",
        stack,
        api_key,
        args,
        fault,
        after=args.after,
        extra_check=survived,
    )


def scenario_postgres(stack: Stack, api_key: str, args) -> None:
    gap = 4 if args.quick else 6

    def fault(load):
        time.sleep(args.warmup)
        began = time.monotonic()
        killed = [terminate_backends()]
        time.sleep(gap)
        killed.append(terminate_backends())
        return began, time.monotonic(), [f"backends terminated: {killed[0]}, then {killed[1]} ({gap} s apart)"]

    run_load_scenario(
        "2. PostgreSQL backends terminated twice under load", stack, api_key, args, fault, after=args.after
    )


def scenario_same_key(stack: Stack, api_key: str, args) -> None:
    headers = {"Authorization": f"Api-Key {api_key}"}
    offset = stack.log_size("web")
    for title, body in (
        (f"3. {args.same_key} concurrent POSTs with one Idempotency-Key", truck_body()),
        (
            f"3b. {args.same_key} concurrent POSTs with one Idempotency-Key, a body the server refuses",
            {**truck_body(), "route": "1"},
        ),
    ):
        key = str(uuid.uuid4())
        answers: list[Answer] = [None] * args.same_key  # type: ignore[list-item]
        barrier = threading.Barrier(args.same_key)

        def send(index, key=key, body=body, barrier=barrier, answers=answers):
            barrier.wait()
            answers[index] = call(
                stack.web_port,
                "POST",
                "/api/v1/declarations/",
                body=body,
                headers={**headers, "Idempotency-Key": key},
                timeout=60,
            )

        threads = [threading.Thread(target=send, args=(index,), daemon=True) for index in range(args.same_key)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(10)
        retry = call(
            stack.web_port, "POST", "/api/v1/declarations/", body=body, headers={**headers, "Idempotency-Key": key}
        )
        ids = {answer.data.get("id") for answer in answers if answer.status == 201}
        committed = declaration_of(body["customs_declarations"][0]["number"])
        unexpected = [a for a in answers if a.status is None or a.status in (404, 500) or a.status >= 500]
        print(f"\n== {title}")
        print(f"  requests sent: {len(answers)}")
        print(f"  answers by status: {statuses([('POST', answer) for answer in answers])}")
        print(
            f"  declarations created: {len(committed)}; distinct ids among the 201s: {len(ids)}; "
            f"404s: {sum(a.status == 404 for a in answers)}, 500s: {sum(a.status == 500 for a in answers)}, "
            f"no answer: {sum(a.status is None for a in answers)}"
        )
        print(
            f"  retry 10 s later: {retry.label} replayed={retry.replayed}; key stuck: "
            f"{int(retry.status == 409 and retry.code == IN_PROGRESS)}; "
            f"answers over 1 s: {sum(a.seconds > 1 for a in answers)}, slowest {max(a.seconds for a in answers):.2f} s"
        )
        SUMMARY.append(
            (
                title.split(" ")[0],
                len(answers),
                server_errors([*answers, retry]),
                sum(a.status is None for a in answers),
                int(retry.status == 409 and retry.code == IN_PROGRESS),
                "-",
            )
        )
        for answer in unexpected[:3]:
            print(f"    evidence: {answer.label} X-Request-ID {answer.request_id} {json.dumps(answer.data)[:300]}")
    lines = error_lines(stack, "web", offset)
    if lines:
        print(f"  web log: {len(lines)} ERROR lines, first: {one_line(lines[0])}")


def scenario_worker_kill(stack: Stack, api_key: str, args) -> None:
    kills = 3
    gap = 6 if args.quick else 10

    def fault(load):
        time.sleep(args.warmup)
        began = time.monotonic()
        notes = []
        for index in range(kills):
            pending, running = query(
                "SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'running') "
                "FROM clearance_check"
            )[0]
            stack.kill_worker()
            notes.append(f"kill {index + 1}: {running} checks running, {pending} pending")
            time.sleep(1)
            started = time.monotonic()
            stack.start_worker()
            notes[-1] += f", worker back and ready in {time.monotonic() - started + 1:.0f} s"
            if index < kills - 1:
                time.sleep(gap)
        return began, time.monotonic(), ["; ".join(notes)]

    first_check = query("SELECT coalesce(max(id), 0) FROM clearance_check")[0][0]
    run_load_scenario(
        f"4. Celery worker killed (SIGKILL) {kills} times under load, restarted each time",
        stack,
        api_key,
        args,
        fault,
        after=args.after,
    )
    rows = query(
        "SELECT count(*) FILTER (WHERE attempts > 1), count(*) FILTER (WHERE status IN ('pending', 'running')), "
        "count(*) FROM clearance_check WHERE id > %s",
        (first_check,),
    )[0]
    print(
        f"  checks: {rows[2]} in this scenario; run more than once (retaken): {rows[0]}; still outstanding: {rows[1]}"
    )


SCENARIOS = {"1": scenario_redis, "2": scenario_postgres, "3": scenario_same_key, "4": scenario_worker_kill}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter faults, less load")
    parser.add_argument("--scenarios", default="1234", help="which to run, e.g. 13 (default: all)")
    parser.add_argument("--clients", type=int, default=3, help="client threads of the load")
    parser.add_argument("--rate", type=float, default=None, help="POSTs per second in all (default 3, quick 2)")
    parser.add_argument("--same-key", type=int, default=100, help="concurrent POSTs of scenario 3")
    parser.add_argument("--redis-port", type=int, default=6391)
    parser.add_argument("--port", type=int, default=8766, help="gunicorn's port")
    parser.add_argument("--keep-logs", action="store_true", help="keep the stack's logs (their folder is printed)")
    args = parser.parse_args()
    args.rate = args.rate or (2.0 if args.quick else 3.0)
    args.warmup = 5 if args.quick else 8
    args.after = 5 if args.quick else 8

    def terminated(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminated)
    logs = Path(tempfile.mkdtemp(prefix="smartgate-faults-"))
    redis_port, web_port = free_port(args.redis_port), free_port(args.port)
    stack = Stack(redis_port=redis_port, web_port=web_port, logs=logs)
    started = time.monotonic()
    try:
        recreate_database()
        stack.start_redis()
        for command in ("migrate", "load_reference", "load_tariff", "setup_roles", "generate_slots"):
            stack.manage(command)
        stack.manage("create_company", "--tax-code", TAX_CODE, "--name", "Faults Bench Logistics")
        api_key = stack.manage("create_api_key", "--company", TAX_CODE, "--name", "faults").strip().splitlines()[-1]
        stack.start_web()
        stack.start_worker()
        stack.start_beat()
        print(
            f"stack: redis-server :{redis_port} (broker and cache), PostgreSQL database {DATABASE_NAME}, "
            f"gunicorn 2 sync workers :{web_port}, Celery worker -c 2 on every queue, Celery beat "
            f"(reconcile every 10 s); load: {args.clients} client threads, {args.rate:g} POSTs/s in all, "
            f"each followed by a GET of the list{'; quick' if args.quick else ''}"
        )
        for _ in range(60):  # the first worker heartbeat, sent by beat
            ready = readiness(stack)
            if ready.startswith("200 ok"):
                break
            time.sleep(1)
        print(f"readiness at start: {ready}")
        for number in args.scenarios:
            SCENARIOS[number](stack, api_key, args)
        print("\nsummary: scenario, requests sent, 5xx other than 503 database_unavailable (retries included),")
        print("         responses lost, idempotency keys stuck, declarations not decided 60 s after the last fault")
        for row in SUMMARY:
            print("  " + "  ".join(f"{value!s:>5}" for value in row))
        print(f"run time {time.monotonic() - started:.0f} s")
    except KeyboardInterrupt:
        print("interrupted: stopping the stack", file=sys.stderr)
    finally:
        stack.stop_all()
        with contextlib.suppress(psycopg.Error):
            drop_database()
        if args.keep_logs:
            print(f"logs kept in {logs}")
        else:
            for path in logs.iterdir():
                path.unlink()
            logs.rmdir()


if __name__ == "__main__":
    main()
