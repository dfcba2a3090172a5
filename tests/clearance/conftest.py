import copy
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from clearance.services.companies import api_key_create, company_create

EXAMPLE = {
    "direction": "export",
    "route": "1119-1120",
    "customs_declarations": [{"number": "305123456789", "type": "B11"}],
    "vehicle": {
        "plate": "12C-123.45",
        "country": "VN",
        "max_gross_weight_kg": 40000,
        "permit_number": "VN-CN-2026-00123",
        "permit_expires": "2027-06-30",
    },
    "trailer": {"plate": "12R-012.34", "country": "VN"},
    "driver": {
        "full_name": "Nguyễn Văn An",
        "nationality": "VN",
        "document_type": "passport",
        "document_number": "C1234567",
        "document_expires": "2030-01-01",
    },
    "containers": [{"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]}],
    "goods": [
        {
            "hs_code": "08106000",
            "description": "Fresh durian",
            "quantity": "18000",
            "unit": "KGM",
            "gross_weight_kg": "18000",
            "value": "45000.00",
            "currency": "USD",
            "origin_country": "VN",
        }
    ],
    "quarantine_certificates": [{"number": "KD-2026-001234", "issued_on": "2026-11-20", "expires_on": "2026-12-20"}],
}


# Goods lines outside HS chapters 01–24 (no quarantine) and not perishable, for queue and gate tests.
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
PHONES = [
    {
        "hs_code": "85171300",
        "description": "Smartphones",
        "quantity": "2000",
        "unit": "PCE",
        "gross_weight_kg": "1500",
        "value": "400000.00",
        "currency": "USD",
        "origin_country": "VN",
    }
]


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
def tariff(db):
    """The sample infrastructure-use tariff, loaded as an installation loads it."""
    from django.core.management import call_command

    from clearance.models import Tariff

    call_command("load_tariff", stdout=io.StringIO())
    return Tariff.objects.get()


def arrival_in(hours: float) -> str:
    return (timezone.now() + timedelta(hours=hours)).astimezone(timezone.get_fixed_timezone(7 * 60)).isoformat()


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
def company(db):
    return company_create(tax_code_text="0101234565", name="Công ty TNHH Vận tải Hữu Nghị")


@pytest.fixture
def other_company(db):
    return company_create(tax_code_text="0100109106", name="Tổng công ty Kho vận Đồng Đăng")


def client_for(company) -> APIClient:
    _api_key, key = api_key_create(company=company, name="erp")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def api(company, reference):
    return client_for(company)


@pytest.fixture
def other_api(other_company, reference):
    return client_for(other_company)


@pytest.fixture
def declare(api, declaration_body):
    """POST a declaration as the company and return the response."""

    def post(client=None, **overrides):
        return (client or api).post("/api/v1/declarations/", declaration_body(**overrides), format="json")

    return post
