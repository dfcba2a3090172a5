from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClearanceConfig(AppConfig):
    name = "clearance"
    verbose_name = _("Clearance")

    def ready(self) -> None:
        # Register the tasks in every process, not only in workers: services send them by name, and the
        # embedded default (tasks in-process) runs them only when the name resolves to a registered task.
        from clearance import tasks  # noqa: F401
