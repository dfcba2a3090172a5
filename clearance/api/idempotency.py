"""``Idempotency-Key`` for create-type POSTs: a retried request gets the first response, not a second row.

The key is claimed by inserting a row before the work starts (its own committed statement, so a
concurrent request with the same key sees it at once):
- same key and body, first finished: its status and body are replayed (within the retention window);
- same key, different body: 422; same key while the first is still running: 409.
Only a successful response is stored; a refused request can be corrected and sent again with its key.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from clearance.api.problems import problem
from clearance.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADERS = ("Location", "ETag")


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
        retention = timedelta(hours=settings.SMARTGATE_IDEMPOTENCY_RETENTION_HOURS)
        stale_after = timedelta(seconds=settings.SMARTGATE_IDEMPOTENCY_LOCK_SECONDS)

        record = _claim(company=company, key=key, fingerprint=fingerprint, path=request.path)
        if record is None:
            existing = IdempotencyRecord.objects.get(company=company, key=key)
            age = timezone.now() - existing.created_at
            expired = age > retention or (not existing.is_complete and age > stale_after)
            if expired:
                # A key past retention, or a request that died before answering: start afresh.
                IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
                record = _claim(company=company, key=key, fingerprint=fingerprint, path=request.path)
            if record is None:
                return _answer_for_existing(existing, fingerprint)

        try:
            response = view_method(self, request, *args, **kwargs)
        except BaseException:
            record.delete()
            raise
        if 200 <= response.status_code < 300:
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                is_complete=True,
                response_status=response.status_code,
                response_body=response.data,
                response_headers={name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)},
            )
        else:
            record.delete()
        return response

    return wrapper


def _claim(*, company, key: str, fingerprint: str, path: str) -> IdempotencyRecord | None:
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(company=company, key=key, request_hash=fingerprint, path=path)
    except IntegrityError:
        return None


def _answer_for_existing(existing: IdempotencyRecord, fingerprint: str) -> Response:
    if existing.request_hash != fingerprint:
        return problem(
            status_code=422,
            code="idempotency_key_reused",
            title="Idempotency key reused",
            detail=f"This {HEADER} was used for a different request; use a new key for a new request.",
        )
    if not existing.is_complete:
        return problem(
            status_code=409,
            code="idempotency_request_in_progress",
            title="Request in progress",
            detail=f"A request with this {HEADER} is still being processed; retry shortly.",
            headers={"Retry-After": "1"},
        )
    response = Response(existing.response_body, status=existing.response_status, headers=existing.response_headers)
    response["Idempotent-Replayed"] = "true"
    return response
