from django.core.management.base import BaseCommand, CommandError

from clearance.models import CustomsSystemClient
from clearance.services.customs import customs_client_create


class Command(BaseCommand):
    help = "Register the customs system as a client. Its key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="e.g. vnaccs-langson")

    def handle(self, *args, **options):
        if CustomsSystemClient.objects.filter(name=options["name"]).exists():
            raise CommandError(f"A customs system client named {options['name']!r} exists already.")
        client, key = customs_client_create(name=options["name"])
        self.stdout.write(
            f"Customs system client {client.name!r} registered. Its key is shown only now; it sends it as "
            "'Authorization: Api-Key <key>' to POST /api/v1/customs/notifications/:"
        )
        self.stdout.write(key)
