import yaml

from tests.conftest import REPO_ROOT


def test_compose_defines_the_production_shaped_stack():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    assert set(services) >= {"postgres", "redis", "web", "worker", "beat"}
    assert "gunicorn" in services["web"]["command"]
    assert "worker" in services["worker"]["command"]
    for queue in ["customs", "border_guard", "quarantine"]:
        assert queue in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]
    for name in ["postgres", "redis", "web"]:
        assert "healthcheck" in services[name], name
    for name in ["web", "worker", "beat"]:
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
