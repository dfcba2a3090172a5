"""Reference data the declaration API asks of every declaration, held in each process: the province's
epidemic periods (is a health declaration required?) and the goods groups eligible for the smart lanes.
Both change a few times a year; reading them on every request would cost a query per declaration. A change
saved through Django (the admin, a migration's seed) empties this process's copy at once; other processes
read afresh within ``REFERENCE_TTL_SECONDS``. The checks read the tables themselves (the health engine),
so a period switched on is applied by the check even while an API process still holds the old copy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from django.db.models.signals import post_delete, post_save

from clearance.models import EpidemicMode, SmartLaneGoodsGroup

REFERENCE_TTL_SECONDS = 60.0


class _ProcessCopy:
    """One table's rows, loaded by ``load`` and kept for ``REFERENCE_TTL_SECONDS``."""

    def __init__(self, model, load: Callable[[], list]):
        self._load = load
        self._lock = threading.Lock()
        self._rows: list | None = None
        self._loaded_at = 0.0
        post_save.connect(self.forget, sender=model, dispatch_uid=f"reference_cache_{model.__name__}_save")
        post_delete.connect(self.forget, sender=model, dispatch_uid=f"reference_cache_{model.__name__}_delete")

    def rows(self) -> list:
        rows = self._rows
        if rows is None or time.monotonic() - self._loaded_at > REFERENCE_TTL_SECONDS:
            rows = self._load()
            with self._lock:
                self._rows, self._loaded_at = rows, time.monotonic()
        return rows

    def forget(self, **_kwargs) -> None:
        with self._lock:
            self._rows = None


_epidemic_periods = _ProcessCopy(EpidemicMode, lambda: list(EpidemicMode.objects.order_by("-valid_from", "-id")))
_smart_lane_groups = _ProcessCopy(
    SmartLaneGoodsGroup, lambda: list(SmartLaneGoodsGroup.objects.filter(is_active=True).order_by("name"))
)


def epidemic_period_at(moment: datetime) -> EpidemicMode | None:
    """The period in force at ``moment`` (the latest started, if two overlap), as EpidemicMode.at."""
    for period in _epidemic_periods.rows():
        if period.valid_from <= moment and (period.valid_until is None or moment < period.valid_until):
            return period
    return None


def smart_lane_groups() -> list[SmartLaneGoodsGroup]:
    """The goods groups eligible for the smart lanes now."""
    return _smart_lane_groups.rows()


def reference_cache_forget() -> None:
    """Drop this process's copies (each test has its own reference data)."""
    _epidemic_periods.forget()
    _smart_lane_groups.forget()
