"""Query budgets of the checks pipeline (issue 18): each check run at most 5 queries (the claim, the
declaration with what its engine reads and at most one related list, the lock, then one statement for the
outcome and the trail), the decision after the last check at most 3 more (the fee's existence and what it
is computed from; the fee and inspections go in the run's one statement), whatever the order the checks
finish in; and the reference data a worker caches is never served once it has changed.

Budgets count SQL statements, as issue 18's figures did (66 per declaration before); a run's one
transaction adds its BEGIN and COMMIT, which Django's query capture lists too (``TRANSACTION``). They are
counted outside a test transaction (``transaction=True``), as a worker runs, so no savepoint pair that
only tests would add is counted. The submits send their check messages to a real Redis (nobody consumes
them), so each check runs here.
"""

from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from clearance.models import Check, Declaration, Fee, HsRiskRule, RiskSettings, WatchlistEntry
from clearance.services.checks import check_run
from tests.e2e.conftest import point_celery_at
from tests.factories import container, quarantine_certificate

CHECK_RUN_BUDGET = 5
DECISION_BUDGET = 3
TRANSACTION = 2  # the BEGIN and COMMIT of the run's transaction (outcome, trail, decision)

pytestmark = [
    pytest.mark.usefixtures("tariff", "broker"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.redis,
]


@pytest.fixture
def broker(redis_url):
    """Check messages go to Redis, where they wait: the test runs each check itself."""
    redis.Redis.from_url(redis_url).flushdb()
    point_celery_at(redis_url)
    yield
    point_celery_at(None)
    redis.Redis.from_url(redis_url).flushdb()


def check_ids(declaration_id: int) -> dict[str, int]:
    return dict(Check.objects.filter(declaration_id=declaration_id).values_list("kind", "id"))


def counted_run(check_id: int, budget: int, assert_max_num_queries) -> int:
    with assert_max_num_queries(budget + TRANSACTION) as captured:
        assert check_run(check_id=check_id) is not None
    return len(captured)


@pytest.fixture
def declared(api, declaration_body):
    """Declare the n-th truck, durian in one sealed container (checks left pending); return its id."""
    counter = iter(range(1, 100))

    def build(**overrides) -> int:
        n = next(counter)
        body = declaration_body(
            customs_declarations=[{"number": f"3050000{n:05d}", "type": "B11"}],
            containers=[container(n)],
            quarantine_certificates=[quarantine_certificate()],
            **_truck(n),
            **overrides,
        )
        body.pop("trailer")
        response = api.post("/api/v1/declarations/", body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()["id"]

    return build


def _truck(n: int) -> dict:
    return {
        "vehicle": {
            "plate": f"12C-{n:03d}.67",
            "country": "VN",
            "max_gross_weight_kg": 40000,
            "permit_number": f"VN-CN-2026-{n:05d}",
            "permit_expires": "2030-06-30",
        },
        "driver": {
            "full_name": "Nguyễn Văn An",
            "nationality": "VN",
            "document_type": "passport",
            "document_number": f"C{n:07d}",
            "document_expires": "2030-01-01",
        },
    }


def warm(declared) -> None:
    """A first declaration checked: the worker's reference data is loaded."""
    for check_id in check_ids(declared()).values():
        check_run(check_id=check_id)


@pytest.mark.postgresql
@pytest.mark.parametrize("last", list(Check.Kind))
def test_each_check_run_and_the_decision_keep_to_their_budgets(declared, last, django_assert_max_num_queries):
    warm(declared)
    declaration_id = declared()
    ids = check_ids(declaration_id)
    first = [kind for kind in Check.Kind if kind != last]

    for kind in first:
        counted_run(ids[kind], CHECK_RUN_BUDGET, django_assert_max_num_queries)
    with_decision = counted_run(ids[last], CHECK_RUN_BUDGET + DECISION_BUDGET, django_assert_max_num_queries)
    # The same kind run first on another declaration: what the decision adds to the last run.
    plain = counted_run(check_ids(declared())[last], CHECK_RUN_BUDGET, django_assert_max_num_queries)

    assert Declaration.objects.get(id=declaration_id).status == Declaration.Status.CLEARED
    assert Fee.objects.filter(declaration_id=declaration_id).exists()
    assert with_decision - plain <= DECISION_BUDGET


@pytest.mark.postgresql
def test_a_declaration_sent_to_inspection_keeps_to_the_budgets(declared, django_assert_max_num_queries):
    HsRiskRule.objects.create(hs_prefix="0810", weight=35, description="fruit fraud")
    warm(declared)
    declaration_id = declared()
    ids = check_ids(declaration_id)

    for kind in Check.Kind:
        last = kind == list(Check.Kind)[-1]
        counted_run(ids[kind], CHECK_RUN_BUDGET + (DECISION_BUDGET if last else 0), django_assert_max_num_queries)

    assert Declaration.objects.get(id=declaration_id).status == Declaration.Status.INSPECTION


@pytest.mark.postgresql
def test_outside_an_epidemic_period_the_health_check_reads_nothing_of_its_own(declared, django_assert_num_queries):
    """The period in force at the arrival comes with the declaration's load (health_prepare): the claim, the
    load, the lock and the one statement."""
    warm(declared)
    ids = check_ids(declared())

    with django_assert_num_queries(4 + TRANSACTION):
        check_run(check_id=ids[Check.Kind.HEALTH])

    assert Check.objects.get(id=ids[Check.Kind.HEALTH]).outcome == Check.Outcome.NOT_REQUIRED


def test_a_rule_changed_after_the_worker_cached_the_rules_applies_to_the_next_check(declared):
    warm(declared)

    HsRiskRule.objects.create(hs_prefix="0810", weight=35, description="fruit fraud")
    yellow = declared()
    for check_id in check_ids(yellow).values():
        check_run(check_id=check_id)
    RiskSettings.objects.update(yellow_threshold=50)  # an update() writes no history and sends no signal
    green = declared()
    for check_id in check_ids(green).values():
        check_run(check_id=check_id)

    assert Declaration.objects.get(id=yellow).channel == Declaration.Channel.YELLOW
    assert Declaration.objects.get(id=green).channel == Declaration.Channel.GREEN


def test_a_watchlist_entry_added_or_ended_after_the_cache_was_loaded_is_honoured(declared):
    warm(declared)
    entry = WatchlistEntry.objects.create(kind="person", full_name="Van An Nguyen", action="deny", reason="wanted")
    denied = declared()
    for check_id in check_ids(denied).values():
        check_run(check_id=check_id)
    WatchlistEntry.objects.filter(id=entry.id).update(expires_at=timezone.now() - timedelta(minutes=1))
    passed = declared()
    for check_id in check_ids(passed).values():
        check_run(check_id=check_id)

    assert Declaration.objects.get(id=denied).status == Declaration.Status.REJECTED
    assert Declaration.objects.get(id=passed).status == Declaration.Status.CLEARED
