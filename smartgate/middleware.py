import time

from django.http import JsonResponse, QueryDict


class ServerTimingMiddleware:
    """Adds ``Server-Timing: app;dur=<ms>``: the time Django spent on the request, so a benchmark reads
    server-side latency without the client's overhead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.3f}"
        return response


class RefuseNulMiddleware:
    """A NUL character in a query string or form (an admin search, say) is answered 400 problem+json:
    PostgreSQL text cannot hold one, and it must never reach a query as a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        form = request.POST if request.content_type == "application/x-www-form-urlencoded" else QueryDict()
        for source in (request.GET, form):
            for key, values in source.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return JsonResponse(
                        {
                            "type": "urn:smartgate:problem:invalid_character",
                            "title": "Invalid request",
                            "status": 400,
                            "detail": f"{key!r} holds a NUL character, which no field accepts.",
                            "code": "invalid_character",
                        },
                        status=400,
                        content_type="application/problem+json",
                    )
        return self.get_response(request)


class ApiNoStoreMiddleware:
    """Every /api/ response says ``Cache-Control: no-store`` unless its view chose otherwise: declarations
    carry drivers' names and documents, which no browser, proxy or ERP cache may keep."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/") and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response
