"""Companies and their API keys."""

from __future__ import annotations

from django.db import transaction

from clearance.identifiers import country_code, tax_code
from clearance.models import Company, CompanyAPIKey


@transaction.atomic
def company_create(
    *, tax_code_text: str, name: str, country: str = "VN", compliance_rating: str = Company.Rating.NORMAL
) -> Company:
    """Register a declaring company. Raises ValidationError for a malformed tax code or country."""
    country = country_code(country)
    company = Company(
        tax_code=tax_code(tax_code_text, country=country),
        name=name.strip(),
        country=country,
        compliance_rating=compliance_rating,
    )
    company.full_clean()
    company.save()
    return company


@transaction.atomic
def api_key_create(*, company: Company, name: str) -> tuple[CompanyAPIKey, str]:
    """Issue a key for a company's system. The key is returned once; only its hash is stored."""
    return CompanyAPIKey.objects.create_key(company=company, name=name)
