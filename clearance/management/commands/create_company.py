from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clearance.models import Company
from clearance.services.companies import company_create


class Command(BaseCommand):
    help = "Register a declaring company by its tax code (MST for VN, unified social credit code for CN)."

    def add_arguments(self, parser):
        parser.add_argument("--tax-code", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--country", default="VN")
        parser.add_argument("--rating", default=Company.Rating.NORMAL, choices=Company.Rating.values)

    def handle(self, *args, **options):
        try:
            company = company_create(
                tax_code_text=options["tax_code"],
                name=options["name"],
                country=options["country"],
                compliance_rating=options["rating"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"Company created: {company}")
