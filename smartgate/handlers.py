"""Error pages: the API answers in its one problem+json shape even when no view was reached."""

from django.http import JsonResponse
from django.views.defaults import page_not_found, server_error


def _problem(status: int, code: str, title: str, detail: str) -> JsonResponse:
    return JsonResponse(
        {"type": f"urn:smartgate:problem:{code}", "title": title, "status": status, "detail": detail, "code": code},
        status=status,
        content_type="application/problem+json",
    )


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return _problem(404, "not_found", "Not found", "No such resource.")
    return page_not_found(request, exception)


def error(request):
    if request.path.startswith("/api/"):
        return _problem(500, "server_error", "Server error", "The server failed; the error has been logged.")
    return server_error(request)
