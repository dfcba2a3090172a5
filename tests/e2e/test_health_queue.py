"""The health check is a Celery check on a queue of its own: a slow or stopped health worker holds back only
the health answer, and the declaration is decided once a worker on that queue takes it."""

import pytest

from clearance.models import Check, Declaration
from tests.e2e.conftest import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


def test_the_health_check_waits_on_its_own_queue_and_is_decided_by_a_health_worker(
    start_worker, broker, database_url, no_random_selection, api, declare
):
    start_worker(database_url=database_url, queues="default,customs,border_guard,quarantine,gate,webhooks")

    declaration_id = declare().json()["id"]

    wait_until(
        lambda: Check.objects.filter(declaration_id=declaration_id, status="done").count() == 3,
        what="the three other forces' checks",
    )
    assert Check.objects.get(declaration_id=declaration_id, kind="health").status == "pending"
    assert Declaration.objects.get(id=declaration_id).status == "checking"

    start_worker(database_url=database_url, queues="health")

    wait_until(
        lambda: Declaration.objects.filter(id=declaration_id, status="cleared").exists(),
        what="the health worker's answer and the decision",
    )
    checks = {c["kind"]: c["outcome"] for c in api.get(f"/api/v1/declarations/{declaration_id}/").json()["checks"]}
    assert checks["health"] == "not_required"
