"""Error pages: the API answers in its one problem+json shape even when no view was reached, and a
database that cannot be reached is a 503 with Retry-After, never a 500."""

import logging
import sys

from django.db import InterfaceError, OperationalError, connections
from django.http import JsonResponse
from django.views.defaults import page_not_found, server_error

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait before retrying while the database is unreachable.
RETRY_AFTER_SECONDS = 5


def _database_errors() -> tuple[type[BaseException], ...]:
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # the embedded default may run without psycopg
        return (OperationalError, InterfaceError)
    return (OperationalError, InterfaceError, PoolTimeout)


DATABASE_ERRORS = _database_errors()


def _problem(status: int, code: str, title: str, detail: str) -> JsonResponse:
    return JsonResponse(
        {"type": f"urn:smartgate:problem:{code}", "title": title, "status": status, "detail": detail, "code": code},
        status=status,
        content_type="application/problem+json",
    )


def database_unavailable(request, exception: BaseException) -> JsonResponse:
    # Drop the broken connection now, so the next request connects afresh instead of failing on it.
    for database in connections.all(initialized_only=True):
        if not database.in_atomic_block:
            database.close_if_unusable_or_obsolete()
    logger.warning(
        "database.unavailable",
        extra={"path": request.path, "error": f"{type(exception).__name__}: {exception}"[:300]},
    )
    response = _problem(
        503,
        "database_unavailable",
        "Service unavailable",
        f"The database cannot be reached just now; nothing was changed by this request. Retry in "
        f"{RETRY_AFTER_SECONDS} seconds.",
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """A view that lost its database answers 503 problem+json with Retry-After (the transaction it ran in
    was rolled back, so a retry is safe)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            return database_unavailable(request, exception)
        return None


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return _problem(404, "not_found", "Not found", "No such resource.")
    return page_not_found(request, exception)


def error(request):
    # Called while the exception is handled: a database lost in a middleware (sessions, authentication)
    # before any view ran is still a 503.
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_ERRORS):
        return database_unavailable(request, exception)
    if request.path.startswith("/api/"):
        return _problem(500, "server_error", "Server error", "The server failed; the error has been logged.")
    return server_error(request)
