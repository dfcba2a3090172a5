"""Errors as RFC 9457 problem details, in one shape for every endpoint.

{"type": "urn:smartgate:problem:validation_error", "title": "Invalid request", "status": 400,
 "detail": "…", "errors": [{"field": "containers[0].number", "code": "invalid_check_digit", "message": "…"}]}
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from clearance.errors import DomainError, FieldError, RuleViolations

PROBLEM_CONTENT_TYPE = "application/problem+json"

_DRF_CODES = {
    exceptions.NotAuthenticated: ("not_authenticated", "Not authenticated"),
    exceptions.AuthenticationFailed: ("authentication_failed", "Authentication failed"),
    exceptions.PermissionDenied: ("permission_denied", "Permission denied"),
    exceptions.NotFound: ("not_found", "Not found"),
    exceptions.MethodNotAllowed: ("method_not_allowed", "Method not allowed"),
    exceptions.NotAcceptable: ("not_acceptable", "Not acceptable"),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", "Unsupported media type"),
    exceptions.Throttled: ("throttled", "Too many requests"),
    exceptions.ParseError: ("parse_error", "Malformed request body"),
}


def problem(
    *,
    status_code: int,
    code: str,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict | None = None,
    **extra,
) -> Response:
    body = {
        "type": f"urn:smartgate:problem:{code}",
        "title": title,
        "status": status_code,
        "detail": detail,
        "code": code,
        **extra,
    }
    if errors is not None:
        body["errors"] = [{"field": e.field, "code": e.code, "message": e.message} for e in errors]
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def flatten_errors(detail, path: str = "") -> list[FieldError]:
    """DRF's nested error tree as a flat list with paths like ``containers[0].number``."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            if key == "non_field_errors":
                found += flatten_errors(value, path)
            elif isinstance(key, int):  # a ListSerializer's errors, keyed by item index
                found += flatten_errors(value, f"{path}[{key}]")
            else:
                found += flatten_errors(value, f"{path}.{key}" if path else str(key))
        return found
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail) for item in detail):
            return [FieldError(path or None, item.code or "invalid", str(item)) for item in detail]
        found = []
        for index, item in enumerate(detail):
            found += flatten_errors(item, f"{path}[{index}]")
        return found
    if isinstance(detail, exceptions.ErrorDetail):
        return [FieldError(path or None, detail.code or "invalid", str(detail))]
    return []


def exception_handler(exc, context):
    if isinstance(exc, RuleViolations):
        return problem(status_code=exc.status, code=exc.code, title=exc.title, detail=exc.detail, errors=exc.errors)
    if isinstance(exc, DomainError):
        return problem(status_code=exc.status, code=exc.code, title=exc.title, detail=exc.detail, **exc.extra)
    if isinstance(exc, DjangoValidationError):
        # A model's own validation (full_clean) in a service: a bad input, not a server error.
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return problem(
            status_code=400,
            code="validation_error",
            title="Invalid request",
            detail="One or more fields are invalid; see errors.",
            errors=flatten_errors(serializers.ValidationError(detail).detail),
        )
    if isinstance(exc, (ObjectDoesNotExist, Http404)):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling and logging take over
    if isinstance(exc, serializers.ValidationError):
        return problem(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="validation_error",
            title="Invalid request",
            detail="One or more fields are invalid; see errors.",
            errors=flatten_errors(exc.detail),
        )
    code, title = next(
        ((c, t) for cls, (c, t) in _DRF_CODES.items() if isinstance(exc, cls)),
        (getattr(exc, "default_code", "error"), "Error"),
    )
    if isinstance(exc, exceptions.NotFound):
        detail = "No such resource."  # the same answer whether it is missing or another company's
    else:
        detail = str(exc.detail) if hasattr(exc, "detail") else str(exc)
    headers = {name: value for name, value in response.items() if name in ("Retry-After", "WWW-Authenticate", "Allow")}
    return problem(status_code=response.status_code, code=code, title=title, detail=detail, headers=headers)
