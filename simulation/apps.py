from django.apps import AppConfig


class SimulationConfig(AppConfig):
    """A whole day at the gate (simulate_day): traffic profiles as data, driven through clearance's services."""

    name = "simulation"
    verbose_name = "Simulation"
