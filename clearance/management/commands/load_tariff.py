from django.core.management.base import BaseCommand
from django.db import transaction

from clearance import tariff_data
from clearance.models import Tariff, TariffCoefficient, TariffRate


class Command(BaseCommand):
    help = "Load the sample infrastructure-use fee tariff once (idempotent; never overwrites an edited tariff)."

    @transaction.atomic
    def handle(self, *args, **options):
        tariff, created = Tariff.objects.get_or_create(code=tariff_data.TARIFF["code"], defaults=tariff_data.TARIFF)
        # A tariff loaded before a rate or coefficient was added to the sample gets the missing rows only:
        # the rows it has (perhaps edited by the fee administrators) are left as they are.
        have_rates = set(tariff.rates.values_list("basis", "key"))
        have_coefficients = set(tariff.coefficients.values_list("kind", "code"))
        rates = [
            TariffRate(tariff=tariff, basis=basis, key=key, amount_vnd=amount)
            for basis, key, amount in tariff_data.RATES
            if (basis, key) not in have_rates
        ]
        coefficients = [
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
            if (kind, code) not in have_coefficients
        ]
        TariffRate.objects.bulk_create(rates)
        TariffCoefficient.objects.bulk_create(coefficients)
        if created:
            outcome = "created"
        elif rates or coefficients:
            outcome = f"already there; added {len(rates)} missing rate(s), {len(coefficients)} coefficient(s)"
        else:
            outcome = "already there, left unchanged"
        self.stdout.write(f"Tariff {tariff.code}: {outcome}.")
