from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clearance.identifiers import tax_code as clean_tax_code
from clearance.models import Company
from clearance.services.companies import api_key_create


class Command(BaseCommand):
    help = "Issue an API key for a company's system. The key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="the company's tax code")
        parser.add_argument("--name", required=True, help="what the key is for, e.g. erp")

    def handle(self, *args, **options):
        tax_code = options["company"].strip()
        candidates = {tax_code}
        for country in ("VN", "CN"):
            try:
                candidates.add(clean_tax_code(tax_code, country=country))  # 0101234565001 -> 0101234565-001
            except ValidationError:
                pass
        company = Company.objects.filter(tax_code__in=candidates).first()
        if company is None:
            raise CommandError(f"No company with tax code {tax_code}; create it with create_company first.")
        if not company.is_active:
            raise CommandError(f"{company} is inactive; activate it before issuing keys.")
        api_key, key = api_key_create(company=company, name=options["name"])
        self.stdout.write(
            f"API key {api_key.prefix}… issued to {company} as {api_key.name!r}. "
            "It is shown only now; send it as 'Authorization: Api-Key <key>':"
        )
        self.stdout.write(key)
