"""Officers' screens. Every action goes through the same services as the API, and is permission-checked
by role (see clearance/roles.py). The lane board and the dashboard are in board.py, mounted by urls.py."""

from clearance.admin import gate, health, kpis, registry, webhooks  # noqa: F401  (registration side effects)
