"""What the operators' readiness check reads: the workers seen at work."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """The last time a Celery worker ran the heartbeat task (every SMARTGATE_WORKER_HEARTBEAT_SECONDS)."""

    worker = models.CharField(_("worker"), max_length=200, primary_key=True)
    seen_at = models.DateTimeField(_("last seen at"))

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.worker} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
