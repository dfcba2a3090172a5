"""The routes and their gates, held in each process: a declaration names its route by code, and reading
the few routes from the database on every request would be a query per declaration for data that changes
a few times a year. A change saved through Django (the admin, ``load_reference``) empties this process's
copy at once; other processes read afresh within ``ROUTES_TTL_SECONDS``."""

from __future__ import annotations

import threading
import time

from django.db.models.signals import post_delete, post_save

from vehicles.models import BorderGate, Route

ROUTES_TTL_SECONDS = 60.0

_lock = threading.Lock()
_routes: dict[str, Route] | None = None
_loaded_at = 0.0


def routes_by_code() -> dict[str, Route]:
    """Every route by its code, each with its gate loaded."""
    global _routes, _loaded_at
    routes = _routes
    if routes is None or time.monotonic() - _loaded_at > ROUTES_TTL_SECONDS:
        routes = {route.code: route for route in Route.objects.select_related("gate").order_by("code")}
        with _lock:
            _routes, _loaded_at = routes, time.monotonic()
    return routes


def routes_forget(**_kwargs) -> None:
    """Drop this process's copy; the next read loads the routes again."""
    global _routes
    with _lock:
        _routes = None


for _model in (Route, BorderGate):
    post_save.connect(routes_forget, sender=_model, dispatch_uid=f"routes_forget_{_model.__name__}_save")
    post_delete.connect(routes_forget, sender=_model, dispatch_uid=f"routes_forget_{_model.__name__}_delete")
