"""The officers' admin site: Django's, with the gate's own screens (lane board, dashboard) beside the models.

Installed as the default site by ``smartgate.apps.SmartgateAdminConfig``, so ``admin.site`` and every
``@admin.register`` use it.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _


class SmartgateAdminSite(admin.AdminSite):
    site_header = _("smartgate — Hữu Nghị smart border gate")
    site_title = _("smartgate")
    index_title = _("Gate administration")

    def get_urls(self):
        # clearance's screens are mounted by URLconf path, as smartgate/urls.py mounts its API: the site is
        # built before any app's admin module registers on it, so it cannot import them.
        return [path("", include("clearance.admin.urls"))] + super().get_urls()
