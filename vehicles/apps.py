from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VehiclesConfig(AppConfig):
    name = "vehicles"
    verbose_name = _("Gates and vehicles")

    def ready(self) -> None:
        from vehicles.models import BorderGate, DeviceAPIKey, GateDevice, Lane, Route, Yard
        from vehicles.process_cache import device_keys, invalidate_on_change, routes

        # A verified device key carries its device, lane and yard: a change to any of them drops it.
        invalidate_on_change(device_keys, DeviceAPIKey, GateDevice, Lane, Yard)
        invalidate_on_change(routes, Route, BorderGate)
