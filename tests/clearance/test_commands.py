import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from clearance.models import Company, CompanyAPIKey


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_company_then_key_then_an_authenticated_request(db, reference):
    run("create_company", "--tax-code", "0101234565", "--name", "Công ty TNHH Vận tải Hữu Nghị")

    output = run("create_api_key", "--company", "0101234565", "--name", "erp")
    key = output.strip().splitlines()[-1]

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/declarations/").status_code == 200
    stored = CompanyAPIKey.objects.get()
    assert key not in stored.hashed_key and stored.hashed_key  # only the hash is kept
    assert stored.company.name == "Công ty TNHH Vận tải Hữu Nghị"


def test_branch_tax_code_is_accepted_in_either_writing(db):
    run("create_company", "--tax-code", "0101234565001", "--name", "Chi nhánh Lạng Sơn")

    assert Company.objects.get().tax_code == "0101234565-001"
    assert run("create_api_key", "--company", "0101234565-001", "--name", "erp").strip()


def test_chinese_company_by_unified_social_credit_code(db):
    run("create_company", "--tax-code", "91110000600037341L", "--name", "凭祥物流有限公司", "--country", "CN")

    assert Company.objects.get().name == "凭祥物流有限公司"


@pytest.mark.parametrize("tax_code", ["0101234566", "12345", "0101234565-0012"])
def test_malformed_tax_code_is_refused_with_the_accepted_forms(db, tax_code):
    with pytest.raises(CommandError, match="10 digits, or 10-3 for a branch"):
        run("create_company", "--tax-code", tax_code, "--name", "X")


def test_key_for_an_unknown_company_is_refused(db):
    with pytest.raises(CommandError, match="No company"):
        run("create_api_key", "--company", "0101234565", "--name", "erp")


def test_revoked_key_is_refused(db, reference):
    run("create_company", "--tax-code", "0101234565", "--name", "A")
    key = run("create_api_key", "--company", "0101234565", "--name", "erp").strip().splitlines()[-1]
    CompanyAPIKey.objects.update(revoked=True)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/declarations/").status_code == 401


def test_throttling_per_key_answers_429_with_retry_after(db, reference, settings):
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "api_client": "3/min"}
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        run("create_company", "--tax-code", "0101234565", "--name", "A")
        key = run("create_api_key", "--company", "0101234565", "--name", "erp").strip().splitlines()[-1]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        statuses = [client.get("/api/v1/declarations/").status_code for _ in range(4)]
        last = client.get("/api/v1/declarations/")
    finally:
        SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        cache.clear()

    assert statuses == [200, 200, 200, 429]
    assert last["Content-Type"] == "application/problem+json"
    assert int(last["Retry-After"]) > 0


@pytest.mark.django_db(transaction=True)
def test_load_synthetic_fills_a_history_the_api_and_the_audit_accept(reference, tariff):
    """The benchmarks' history stays loadable as the schema grows (a new NOT NULL column broke it once,
    unseen): every crossing with its four checks, an intact audit trail, listed for its company."""
    from django.db import connection

    from clearance.models import Check, Declaration
    from clearance.services.companies import api_key_create

    if connection.vendor != "postgresql":
        pytest.skip("load_synthetic loads with PostgreSQL's COPY")
    output = run("load_synthetic", "--declarations", "400", "--companies", "3", "--company", "0101234565")

    assert "Loaded 400 declarations" in output
    crossed = Declaration.objects.filter(stage=Declaration.Stage.CROSSED)
    assert crossed.count() > 300
    assert set(Check.objects.filter(declaration__in=crossed).values_list("kind", flat=True)) == set(Check.Kind)
    assert "audit trail intact" in run("verify_audit")
    _key, key = api_key_create(company=Company.objects.get(tax_code="0101234565"), name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    page = client.get("/api/v1/declarations/", {"limit": 50})
    assert page.status_code == 200 and len(page.json()["results"]) == 40  # a tenth of them are this company's
