"""``Idempotency-Key`` for create-type POSTs: a retried request gets the first response, not a second row.

The key's record is written in the same transaction as the request's effect, so the two commit together
or not at all: a committed create is always answered the same on retry, and a request that failed (an
error, a refusal, a lost database) leaves no record behind: its key is free again at once.

- same key and body, first finished: its status and body are replayed (within the retention window);
- same key, different body: 422;
- same key while the first is still running: the second waits on the first's uncommitted claim (the
  unique index makes PostgreSQL wait) for up to ``SMARTGATE_IDEMPOTENCY_WAIT_SECONDS``, then replays its
  answer, or claims the key if the first failed; still running after that wait, 409 with Retry-After.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from psycopg import errors as pg_errors
from rest_framework.response import Response

from clearance.api.problems import problem
from clearance.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADERS = ("Location", "ETag")


class _StillRunning(Exception):
    """Another request with this key did not finish within the wait."""


def _fingerprint(request) -> str:
    canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def idempotent(view_method):
    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        if not (1 <= len(key) <= 255) or not key.isprintable():
            return problem(
                status_code=400,
                code="invalid_idempotency_key",
                title="Invalid request",
                detail=f"{HEADER} must be 1–255 printable characters, e.g. a UUID.",
            )
        company = request.user.company
        fingerprint = _fingerprint(request)
        try:
            with transaction.atomic():
                record, existing = _claim_or_find(company=company, key=key, fingerprint=fingerprint, path=request.path)
                if record is None:
                    return _answer_for_existing(existing, fingerprint)
                response = view_method(self, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    _store(record, response)  # commits with the effect, or neither does
                else:
                    transaction.set_rollback(True)  # a refused request leaves its key free
                return response
        except _StillRunning:
            return _in_progress()

    return wrapper


def _claim_or_find(*, company, key: str, fingerprint: str, path: str):
    """Claim the key in this transaction; or the finished record that holds it. (record, existing)."""
    for _attempt in range(3):
        record = _claim(company=company, key=key, fingerprint=fingerprint, path=path)
        if record is not None:
            return record, None
        existing = IdempotencyRecord.objects.filter(company=company, key=key).first()
        if existing is None:
            continue  # the holder's transaction rolled back just now: the key is free again
        retention = timedelta(hours=settings.SMARTGATE_IDEMPOTENCY_RETENTION_HOURS)
        if timezone.now() - existing.created_at > retention:
            IdempotencyRecord.objects.filter(pk=existing.pk).delete()  # past retention: start afresh
            continue
        return None, existing
    raise _StillRunning


def _claim(*, company, key: str, fingerprint: str, path: str) -> IdempotencyRecord | None:
    """Insert the key's record. A concurrent uncommitted claim of the same key makes PostgreSQL wait for
    its transaction: committed, this is an IntegrityError (None); rolled back, this claim succeeds."""
    try:
        with transaction.atomic():
            with _lock_wait_limited():
                return IdempotencyRecord.objects.create(company=company, key=key, request_hash=fingerprint, path=path)
    except IntegrityError:
        return None
    except OperationalError as error:
        if isinstance(error.__cause__, pg_errors.LockNotAvailable):
            raise _StillRunning from error
        raise


class _lock_wait_limited:
    """``SET LOCAL lock_timeout`` around the claim on PostgreSQL, so a same-key request waits only so long."""

    def __enter__(self):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                wait_ms = int(settings.SMARTGATE_IDEMPOTENCY_WAIT_SECONDS * 1000)
                cursor.execute(f"SET LOCAL lock_timeout = {wait_ms}")

    def __exit__(self, *exc_info):
        if connection.vendor == "postgresql" and exc_info[0] is None:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = DEFAULT")
        return False


def _store(record: IdempotencyRecord, response: Response) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        is_complete=True,
        response_status=response.status_code,
        response_body=response.data,
        response_headers={name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)},
    )


def _in_progress() -> Response:
    return problem(
        status_code=409,
        code="idempotency_request_in_progress",
        title="Request in progress",
        detail=f"A request with this {HEADER} is still being processed; retry shortly.",
        headers={"Retry-After": "1"},
    )


def _answer_for_existing(existing: IdempotencyRecord, fingerprint: str) -> Response:
    if existing.request_hash != fingerprint:
        return problem(
            status_code=422,
            code="idempotency_key_reused",
            title="Idempotency key reused",
            detail=f"This {HEADER} was used for a different request; use a new key for a new request.",
        )
    if not existing.is_complete:
        return _in_progress()  # a record written before the answer was stored with the effect
    response = Response(existing.response_body, status=existing.response_status, headers=existing.response_headers)
    response["Idempotent-Replayed"] = "true"
    return response
