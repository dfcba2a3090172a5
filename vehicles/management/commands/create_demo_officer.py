from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_USERNAME = "officer"
DEMO_PASSWORD = "smartgate-demo"


class Command(BaseCommand):
    help = "Create (or reset) the demo officer of the embedded default. Refused unless DJANGO_DEBUG is on."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("The demo officer has a published password; it is only created with DJANGO_DEBUG on.")
        user, _created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        user.is_staff = True
        user.is_superuser = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        self.stdout.write(f"Demo officer: log in at http://127.0.0.1:8000/admin/ as {DEMO_USERNAME} / {DEMO_PASSWORD}")
