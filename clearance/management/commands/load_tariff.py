from django.core.management.base import BaseCommand
from django.db import transaction

from clearance import tariff_data
from clearance.models import Tariff, TariffCoefficient, TariffRate


class Command(BaseCommand):
    help = "Load the sample infrastructure-use fee tariff once (idempotent; never overwrites an edited tariff)."

    @transaction.atomic
    def handle(self, *args, **options):
        tariff, created = Tariff.objects.get_or_create(code=tariff_data.TARIFF["code"], defaults=tariff_data.TARIFF)
        if created:
            TariffRate.objects.bulk_create(
                TariffRate(tariff=tariff, basis=basis, key=key, amount_vnd=amount)
                for basis, key, amount in tariff_data.RATES
            )
            TariffCoefficient.objects.bulk_create(
                TariffCoefficient(
                    tariff=tariff,
                    kind=kind,
                    code=code,
                    description=description,
                    hs_chapters=chapters,
                    coefficient=coefficient,
                    direction=tariff_data.COEFFICIENT_DIRECTIONS.get(code, ""),
                )
                for kind, code, description, chapters, coefficient in tariff_data.COEFFICIENTS
            )
        self.stdout.write(f"Tariff {tariff.code}: {'created' if created else 'already there, left unchanged'}.")
