"""A log of changes to reference data, written by the database itself, so each process can cache it.

Every statement that writes a table the checks and the fee read on every run (risk settings, HS rules,
reference prices, the watchlist, revoked certificates, tariffs with their rates and coefficients) appends
one ``ReferenceChange`` row through a PostgreSQL statement trigger, in the writer's own transaction:
the admin, an ``update()``, a data migration and raw SQL alike. The newest row's id is the *generation*
of the reference data: a copy loaded at generation G is current while the newest id is still G. Ids
come from a sequence, so a rolled-back change never hands out an id twice. Elsewhere (SQLite, the
embedded default) there is no trigger, and nothing is cached (clearance.engines.reference).
"""

from __future__ import annotations

import pgtrigger
from django.db import models
from django.utils.translation import gettext_lazy as _

REFERENCE_CHANGE_TABLE = "clearance_referencechange"


class ReferenceChange(models.Model):
    table = models.CharField(_("table"), max_length=63)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        db_table = REFERENCE_CHANGE_TABLE
        verbose_name = _("reference data change")
        verbose_name_plural = _("reference data changes")

    def __str__(self) -> str:
        return f"{self.table} at {self.at}"


def reference_changed_trigger(name: str) -> pgtrigger.Trigger:
    """The trigger a reference table declares in its Meta: any statement that writes it logs a change."""
    return pgtrigger.Trigger(
        name=name,
        level=pgtrigger.Statement,
        when=pgtrigger.After,
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete | pgtrigger.Truncate,
        func=f'INSERT INTO {REFERENCE_CHANGE_TABLE} ("table", at) VALUES (TG_TABLE_NAME, now()); RETURN NULL;',
    )
