"""Shared set-up for the benchmarks: their own PostgreSQL database and Redis db, never the tests'."""

import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smartgate_bench")
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
# The servers and workers a benchmark starts run with production settings (no DEBUG: no query log).
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-not-used-anywhere-else-0123456789",
    "LOG_LEVEL": "WARNING",
    # whitenoise's warning that collectstatic never ran: the benches serve no static file.
    "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
}


def setup_django(*, broker: bool) -> None:
    """Point this process at the bench database (created and migrated afresh) and, if asked, at Redis."""
    os.environ["DATABASE_URL"] = BENCH_DATABASE_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartgate.settings")
    os.environ.setdefault("API_THROTTLE_RATE", "1000000/min")
    # The preparation runs checks in this process: their INFO lines (one per declaration decided) would
    # bury the figures. Warnings still show.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    if broker:
        os.environ["CELERY_BROKER_URL"] = BENCH_REDIS_URL
    else:
        os.environ.pop("CELERY_BROKER_URL", None)
    sys.path.insert(0, str(REPO_ROOT))
    _recreate_database()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("load_reference", verbosity=0)
    call_command("load_tariff", verbosity=0)  # clearing issues the fee, as in production


def _recreate_database() -> None:
    import psycopg

    name = BENCH_DATABASE_URL.rsplit("/", 1)[1]
    admin_url = BENCH_DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def start_workers(
    count: int, concurrency: int, *, queues: str = "default,customs,border_guard,quarantine,health"
) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        **PRODUCTION_ENV,
        "CELERY_BROKER_URL": BENCH_REDIS_URL,
        "DATABASE_URL": BENCH_DATABASE_URL,
    }
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "smartgate",
                "worker",
                "-Q",
                queues,
                "-c",
                str(concurrency),
                "-n",
                f"bench{index}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "warning",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for index in range(count)
    ]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=1000, method="inclusive")[int(share * 1000) - 1]
