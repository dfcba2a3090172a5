from django.conf import settings
from django.contrib.admin.apps import AdminConfig
from django.db.backends.signals import connection_created


class SmartgateAdminConfig(AdminConfig):
    """django.contrib.admin with smartgate's site as the default one (``admin.site``)."""

    default_site = "smartgate.admin.SmartgateAdminSite"

    def ready(self) -> None:
        super().ready()
        connection_created.connect(prepared_statements_kept, dispatch_uid="smartgate.prepared_statements_kept")


def prepared_statements_kept(sender, connection, **kwargs) -> None:
    """psycopg keeps the 100 statements last prepared on a connection by default; a day's hot paths run more
    distinct statements than that (a dispatcher's head per kind of lane and room, each transition's write),
    and one dropped is parsed and planned again. ``DATABASE_PREPARED_MAX`` of them are kept instead."""
    if connection.vendor == "postgresql" and connection.settings_dict["OPTIONS"].get("prepare_threshold") is not None:
        connection.connection.prepared_max = settings.DATABASE_PREPARED_MAX
