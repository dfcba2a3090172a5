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


def _content_digest(value) -> str:
    """A file in the request (an import's body or uploaded part) by its content, not its name."""
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    if hasattr(value, "chunks"):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return digest.hexdigest()
    return str(value)


def _fingerprint(request) -> str:
    data = request.data
    if hasattr(data, "dict"):  # a multipart form: its fields and its files
        data = {**data.dict(), **{name: request.FILES[name] for name in request.FILES}}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_content_digest)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def idempotent(view_method=None, *, stored=None, replayed=None):
    """``@idempotent``, or ``@idempotent(stored=…, replayed=…)`` for an answer that must not be kept as it
    was sent: ``stored(body)`` is what the record keeps, ``replayed(view, body)`` what a replay answers
    (a webhook's signing secret is not kept in clear: the replay reads it, encrypted at rest, again)."""
    if view_method is None:
        return functools.partial(idempotent, stored=stored, replayed=replayed)

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
                record_id, existing = _claim_or_find(
                    company=company, key=key, fingerprint=fingerprint, path=request.path
                )
                if record_id is None:
                    answer = _answer_for_existing(existing, fingerprint)
                    if replayed is not None and answer.has_header("Idempotent-Replayed"):
                        answer.data = replayed(self, answer.data)
                    return answer
                response = view_method(self, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    if stored is not None:
                        response.idempotent_body = stored(response.data)
                    _store(record_id, response)  # commits with the effect, or neither does
                else:
                    transaction.set_rollback(True)  # a refused request leaves its key free
                return response
        except _StillRunning:
            return _in_progress()

    return wrapper


def _claim_or_find(*, company, key: str, fingerprint: str, path: str):
    """Claim the key in this transaction; or the finished record that holds it. (record, existing)."""
    for _attempt in range(3):
        record_id = _claim(company=company, key=key, fingerprint=fingerprint, path=path)
        if record_id is not None:
            return record_id, None
        existing = IdempotencyRecord.objects.filter(company=company, key=key).first()
        if existing is None:
            continue  # the holder's transaction rolled back just now: the key is free again
        retention = timedelta(hours=settings.SMARTGATE_IDEMPOTENCY_RETENTION_HOURS)
        if timezone.now() - existing.created_at > retention:
            IdempotencyRecord.objects.filter(pk=existing.pk).delete()  # past retention: start afresh
            continue
        return None, existing
    raise _StillRunning


def _claim(*, company, key: str, fingerprint: str, path: str) -> int | None:
    """Insert the key's record; its id, or None when a committed record holds the key. A concurrent
    uncommitted claim of the same key makes PostgreSQL wait for its transaction (the unique index):
    committed, nothing is inserted; rolled back, this claim is. The wait is bounded by ``lock_timeout``,
    set in the statement itself: past it, _StillRunning. On PostgreSQL one statement, without a savepoint.
    The bound stays for the rest of the request's transaction (not reset: a query less on every keyed
    create): any lock the request then waits for longer is a 503 with Retry-After, never a hung request."""
    if connection.vendor != "postgresql":
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    company=company, key=key, request_hash=fingerprint, path=path
                ).pk
        except IntegrityError:
            return None
    table = IdempotencyRecord._meta.db_table
    wait_ms = str(int(settings.SMARTGATE_IDEMPOTENCY_WAIT_SECONDS * 1000))
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{table}" (company_id, key, request_hash, path, is_complete, response_headers, '
                "created_at) SELECT %s, %s, %s, %s, false, '{}'::jsonb, %s "
                "FROM (SELECT set_config('lock_timeout', %s, true)) AS waiting_at_most "
                "ON CONFLICT (company_id, key) DO NOTHING RETURNING id",
                [company.pk, key, fingerprint, path, timezone.now(), wait_ms],
            )
            claimed = cursor.fetchone()
    except OperationalError as error:
        if isinstance(error.__cause__, pg_errors.LockNotAvailable):
            raise _StillRunning from error
        raise
    return claimed[0] if claimed else None


def _store(record_id: int, response: Response) -> None:
    IdempotencyRecord.objects.filter(pk=record_id).update(
        is_complete=True,
        response_status=response.status_code,
        response_body=getattr(response, "idempotent_body", response.data),
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
