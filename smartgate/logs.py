"""Structured logs: one JSON object a line, carrying who and what a line is about.

Every line gets the request id (``X-Request-ID``, accepted from the client or made here and echoed back),
the authenticated company, the declaration named by the URL, and the Celery task id and name, when
known. The ``extra=`` fields a call passes (``logger.info("declaration.decided", extra={...})``) are kept
as fields of the line. The context lives in context variables, so the apps never import this module:
a filter on the handler reads it when a line is written.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
# A client's id is kept only when it is short and plain, so it cannot forge log structure.
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_request = contextvars.ContextVar("smartgate_request", default=None)
_request_id = contextvars.ContextVar("smartgate_request_id", default=None)
_task = contextvars.ContextVar("smartgate_task", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def bind_task(*, task_id: str | None, task_name: str | None, request_id: str | None = None):
    """Called by the Celery signals (smartgate.celery) around each task run; returns tokens for unbind_task."""
    return (
        _task.set({"task_id": task_id, "task": task_name}),
        _request_id.set(request_id) if request_id else None,
    )


def unbind_task(tokens) -> None:
    task_token, request_token = tokens
    _task.reset(task_token)
    if request_token is not None:
        _request_id.reset(request_token)


def _company_of(request) -> str | None:
    # DRF sets the authenticated client on the Django request too, so this is known once the view
    # has authenticated: an API key's company, or a device's lane (devices belong to no company).
    company = getattr(getattr(request, "user", None), "company", None)
    return getattr(company, "tax_code", None)


def _declaration_of(request) -> int | None:
    match = getattr(request, "resolver_match", None)
    return match.kwargs.get("declaration_id") if match else None


class ContextFilter(logging.Filter):
    """Adds request_id, company, declaration, task_id and task to every record that does not carry them."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _request_id.get()
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        request = _request.get()
        if request is not None:
            company = _company_of(request)
            if company and not hasattr(record, "company"):
                record.company = company
            declaration = _declaration_of(request)
            if declaration is not None and not hasattr(record, "declaration"):
                record.declaration = declaration
        task = _task.get()
        if task:
            for key, value in task.items():
                if value and not hasattr(record, key):
                    setattr(record, key, value)
        return True


class JsonFormatter(_JsonFormatter):
    """JSON lines with short names (time, level, logger, message) and every extra field kept."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")  # ISO 8601 in UTC
        super().__init__(*args, **kwargs)


class RequestIdMiddleware:
    """Gives each request an id (the client's ``X-Request-ID`` when it is plain, else a new one), puts it
    on every log line written while the request runs, echoes it in the response, and logs one
    ``request.finished`` line."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.logger = logging.getLogger("smartgate.request")

    def __call__(self, request):
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if _CLIENT_REQUEST_ID.match(offered) else uuid.uuid4().hex
        request.request_id = request_id
        tokens = (_request_id.set(request_id), _request.set(request))
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            match = getattr(request, "resolver_match", None)
            self.logger.info(
                "request.finished",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": match.route if match else None,
                    "status": response.status_code,
                },
            )
            return response
        finally:
            _request_id.reset(tokens[0])
            _request.reset(tokens[1])
