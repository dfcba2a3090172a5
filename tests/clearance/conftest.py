import copy
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from clearance.services.companies import api_key_create, company_create

EXAMPLE = {
    "direction": "export",
    "route": "1119-1120",
    "customs_declarations": [{"number": "305123456789", "type": "B11"}],
    "vehicle": {"plate": "12C-123.45", "country": "VN", "max_gross_weight_kg": 40000,
                "permit_number": "VN-CN-2026-00123", "permit_expires": "2027-06-30"},
    "trailer": {"plate": "12R-012.34", "country": "VN"},
    "driver": {"full_name": "Nguyễn Văn An", "nationality": "VN", "document_type": "passport",
               "document_number": "C1234567", "document_expires": "2030-01-01"},
    "containers": [{"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]}],
    "goods": [{"hs_code": "08106000", "description": "Fresh durian", "quantity": "18000", "unit": "KGM",
               "gross_weight_kg": "18000", "value": "45000.00", "currency": "USD", "origin_country": "VN"}],
    "quarantine_certificates": [{"number": "KD-2026-001234", "issued_on": "2026-11-20", "expires_on": "2026-12-20"}],
}


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
