"""The company event feed's upkeep: events older than the retention are purged."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from clearance.models import CompanyEvent

logger = logging.getLogger(__name__)


def retention_start():
    """The oldest instant the feed still replays."""
    return timezone.now() - timedelta(days=settings.SMARTGATE_EVENT_RETENTION_DAYS)


def events_purge() -> int:
    """Delete the events (and their deliveries and attempts) older than the retention."""
    deleted, _ = CompanyEvent.objects.filter(created_at__lt=retention_start()).delete()
    if deleted:
        logger.info("events.purged", extra={"rows": deleted})
    return deleted
