"""Housekeeping the service needs to stay up: idempotency records past retention, workers' heartbeats."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from clearance.models import IdempotencyRecord, WorkerHeartbeat

logger = logging.getLogger(__name__)


def idempotency_records_purge(*, now: datetime | None = None) -> int:
    """Delete the records of idempotency keys past their retention; how many went."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.SMARTGATE_IDEMPOTENCY_RETENTION_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    if deleted:
        logger.info("idempotency.purged", extra={"count": deleted})
    return deleted


def officer_token_issue(*, user, hours: int | None = None) -> str:
    """A new API token for an officer, returned once: only its digest is kept, and it expires."""
    from knox.models import AuthToken

    ttl = timedelta(hours=hours or settings.SMARTGATE_OFFICER_TOKEN_HOURS)
    _instance, token = AuthToken.objects.create(user=user, expiry=ttl)
    logger.info("officer_token.issued", extra={"user": user.get_username(), "hours": ttl.total_seconds() // 3600})
    return token


def worker_heartbeat_record(*, worker: str, now: datetime | None = None) -> None:
    """A worker took the heartbeat task off its queue: it is alive and consuming."""
    WorkerHeartbeat.objects.update_or_create(worker=worker[:200], defaults={"seen_at": now or timezone.now()})
