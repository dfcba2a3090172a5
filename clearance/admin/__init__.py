"""Officers' screens. Every action goes through the same services as the API, and is permission-checked
by role (see clearance/roles.py)."""

from clearance.admin import actions, board, gate, registry  # noqa: F401  (registration side effects)
