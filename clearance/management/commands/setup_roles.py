from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from clearance.roles import ROLE_PERMISSIONS


class Command(BaseCommand):
    help = "Create the officers' groups with their permissions (idempotent: brings them in line each run)."

    @transaction.atomic
    def handle(self, *args, **options):
        for role, codenames in ROLE_PERMISSIONS.items():
            group, _created = Group.objects.get_or_create(name=role)
            permissions = []
            for label in codenames:
                app_label, codename = label.split(".")
                permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
            group.permissions.set(permissions)
        self.stdout.write(f"Roles ready: {', '.join(ROLE_PERMISSIONS)}.")
