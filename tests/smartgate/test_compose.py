import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO_ROOT

APP_SERVICES = ["web", "worker", "beat"]


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]


def test_compose_defines_the_production_shaped_stack(services):
    assert set(services) >= {"postgres", "redis", "migrate", "web", "worker", "beat"}
    assert "gunicorn" in services["web"]["command"]
    assert "worker" in services["worker"]["command"]
    for queue in ["customs", "border_guard", "quarantine", "health"]:
        assert queue in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_long_running_service_has_a_health_check_and_restarts(services):
    for name, service in services.items():
        if name == "migrate":
            assert service["restart"] == "no"
            continue
        assert "test" in service["healthcheck"], name
        assert service["restart"] == "unless-stopped", name
    assert "/healthz/live" in str(services["web"]["healthcheck"]["test"])
    assert "inspect ping" in str(services["worker"]["healthcheck"]["test"])


def test_web_worker_and_beat_wait_for_the_one_shot_migration(services):
    migrate = services["migrate"]["command"]
    for step in ["migrate", "load_reference", "load_tariff", "setup_roles", "generate_slots"]:
        assert f"manage.py {step}" in migrate
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert "manage.py migrate" not in services[name]["command"]


def test_no_password_has_a_default_and_a_missing_one_says_what_to_set():
    text = (REPO_ROOT / "docker-compose.yml").read_text()

    for variable in ["DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"]:
        assert re.search(rf"\$\{{{variable}:\?set {variable}", text), variable
        assert not re.search(rf"\$\{{{variable}:-", text), variable
    assert "smartgate:smartgate@" not in text


def test_https_is_on_by_default(services):
    env = services["web"]["environment"]

    assert env["DJANGO_SECURE_SSL_REDIRECT"] == "${DJANGO_SECURE_SSL_REDIRECT:-true}"
    assert env["DJANGO_SECURE_COOKIES"] == "${DJANGO_SECURE_COOKIES:-true}"
    assert env["DJANGO_DEBUG"] == "false"


def test_health_checks_and_metrics_are_not_redirected_to_https():
    """With the compose settings, a plain-http request to /healthz/… or /metrics is not sent to https."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.test import Client; c = Client(); "
            "print(c.get('/healthz/live').status_code, c.get('/metrics').status_code, c.get('/admin/').status_code)",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "CELERY"))},
            "DJANGO_SETTINGS_MODULE": "smartgate.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "x" * 50,
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "WARNING",
        },
    )
    live, metrics, admin = result.stdout.split()

    assert live != "301" and metrics != "301", result.stdout + result.stderr
    assert admin == "301"


def test_the_image_context_leaves_secrets_out():
    assert ".env" in (REPO_ROOT / ".dockerignore").read_text().split()
