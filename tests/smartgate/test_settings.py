import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def run_check(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "CELERY", "DJANGO"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_default_starts_with_nothing_set():
    result = run_check()

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_DEBUG", "maybe"),
        ("DATABASE_URL", "mysqlx://nobody@nowhere/db"),
        ("CELERY_BROKER_URL", "amqp:/broken"),
        ("DJANGO_SECURE_HSTS_SECONDS", "ten"),
        ("CELERY_TASK_TIME_LIMIT", "-5"),
    ],
)
def test_malformed_setting_stops_the_start_naming_it(name, value):
    result = run_check(**{name: value})

    assert result.returncode != 0
    assert name in result.stderr


def test_production_settings_need_a_secret_key():
    result = run_check(DJANGO_DEBUG="false")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "CELERY", "DJANGO"))},
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "x" * 20 + "production-like-secret-key-for-the-check-0123456789",
            "DJANGO_ALLOWED_HOSTS": "gate.example.vn",
        },
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_times_stored_in_utc_shown_in_hanoi_time(settings):
    assert settings.USE_TZ is True
    assert settings.TIME_ZONE == "Asia/Ho_Chi_Minh"
    assert [code for code, _name in settings.LANGUAGES] == ["en", "vi"]


def test_postgres_url_uses_native_pool():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; import django; django.setup(); "
            "d = settings.DATABASES['default']; print(d['ENGINE'], 'pool' in d['OPTIONS'], d['CONN_MAX_AGE'])",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "smartgate.settings",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/smartgate",
        },
    )

    assert result.stdout.split() == ["smartgate.db.postgresql", "True", "0"], result.stderr


@pytest.mark.parametrize(("debug", "expected"), [("true", "True"), ("false", "False")])
def test_private_webhook_targets_are_allowed_only_when_debugging(debug, expected):
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.SMARTGATE_WEBHOOK_ALLOW_PRIVATE)",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "CELERY", "DJANGO", "SMARTGATE"))},
            "DJANGO_DEBUG": debug,
            "DJANGO_SECRET_KEY": "x" * 60,
            "DJANGO_ALLOWED_HOSTS": "gate.example.vn",
        },
    )

    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


@pytest.mark.django_db
def test_postgres_prepares_a_repeated_statement_and_keeps_many(settings):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    connection.ensure_connection()
    statement = "SELECT count(*) FROM django_content_type WHERE app_label = %s -- prepared-statement test"
    for _ in range(6):
        with connection.cursor() as cursor:
            cursor.execute(statement, ["clearance"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%prepared-statement test%"]
        )
        (prepared,) = cursor.fetchone()

    assert prepared == 1  # parsed and planned once, then run from the server's copy
    assert connection.connection.prepared_max == settings.DATABASE_PREPARED_MAX


def test_embedded_default_declares_checks_and_dispatches(tmp_path):
    # make run's own steps on a fresh SQLite file: the dispatcher's SQL must not be PostgreSQL's alone.
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DJANGO_DEBUG": "true"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "CELERY", "DJANGO"))}
    for command in (
        ["migrate", "--no-input"],
        ["load_reference"],
        ["load_tariff"],
        ["setup_roles"],
        ["demo", "--traffic"],
    ):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=REPO_ROOT,
            env={**clean, **database},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, f"{command}: {result.stderr[-2000:]}"

    called = re.search(r"(\d+) called to lanes", result.stdout)
    assert called and int(called.group(1)) > 0, result.stdout
