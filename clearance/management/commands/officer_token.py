"""Issue an officer's API token (printed once; only its digest is kept, and it expires)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from clearance.services.operations import officer_token_issue


class Command(BaseCommand):
    help = "Print a new API token for an officer's user; only its digest is stored, and it expires."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--hours", type=int, help="Lifetime in hours (SMARTGATE_OFFICER_TOKEN_HOURS by default).")

    def handle(self, *args, username, hours=None, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        if hours is not None and not 1 <= hours <= 24 * 30:
            raise CommandError("--hours is between 1 and 720.")
        self.stdout.write(officer_token_issue(user=user, hours=hours))
