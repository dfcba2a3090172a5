from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClearanceConfig(AppConfig):
    name = "clearance"
    verbose_name = _("Clearance")

    def ready(self) -> None:
        # Register the tasks in every process, not only in workers: services send them by name, and the
        # embedded default (tasks in-process) runs them only when the name resolves to a registered task.
        from simple_history.signals import post_create_historical_record

        from clearance import tasks  # noqa: F401
        from clearance.process_caches import connect_invalidation
        from clearance.services.ledger import reference_change_recorded

        # Every change of reference data (any model with a history) is a link in its audit chain.
        post_create_historical_record.connect(reference_change_recorded, dispatch_uid="clearance.reference_ledger")
        # Cached keys and subscribers are dropped when their rows change.
        connect_invalidation()
