"""Prometheus metrics at /metrics, for the addresses in SMARTGATE_METRICS_ALLOWED_IPS or a bearer token.

- ``smartgate_http_request_duration_seconds{method,route}``: latency per URL pattern (never per id), and
  ``smartgate_http_responses_total{method,route,status}``.
- the gate's counters (clearance.metrics): barrier decisions by reason, checks by kind and outcome with
  their durations.
- read from the database at scrape time: vehicles waiting per yard, checks outstanding (the outbox backlog).

Under gunicorn each worker process counts on its own: set PROMETHEUS_MULTIPROC_DIR (an empty directory,
shared by the processes) and /metrics adds them up (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count
from django.http import HttpResponse, HttpResponseForbidden
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from clearance.models import ACTIVE_DECLARATION, Check, Declaration

logger = logging.getLogger(__name__)

REQUEST_DURATION = Histogram(
    "smartgate_http_request_duration_seconds",
    "Time Django spent answering, by method and URL pattern.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RESPONSES = Counter(
    "smartgate_http_responses_total", "Responses by method, URL pattern and status.", ["method", "route", "status"]
)


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match else "<unmatched>"
        REQUEST_DURATION.labels(method=request.method, route=route).observe(time.perf_counter() - started)
        RESPONSES.labels(method=request.method, route=route, status=str(response.status_code)).inc()
        return response


class GateCollector:
    """Figures that are facts in the database, read when Prometheus scrapes (one small query each)."""

    def collect(self):
        try:
            waiting = (
                Declaration.objects.filter(ACTIVE_DECLARATION, stage=Declaration.Stage.IN_YARD)
                .values_list("yard__code")
                .annotate(count=Count("id"))
            )
            outstanding = (
                Check.objects.filter(status__in=[Check.Status.PENDING, Check.Status.RUNNING])
                .values_list("status")
                .annotate(count=Count("id"))
            )
            waiting, outstanding = list(waiting), dict(outstanding)
        except DatabaseError:
            logger.warning("metrics.database_unavailable", exc_info=True)
            return
        family = GaugeMetricFamily("smartgate_yard_waiting", "Vehicles waiting in each yard.", labels=["yard"])
        for yard, count in waiting:
            family.add_metric([yard or "none"], count)
        yield family
        family = GaugeMetricFamily(
            "smartgate_checks_outstanding",
            "Checks not finished yet (the outbox backlog), by status.",
            labels=["status"],
        )
        for status in (Check.Status.PENDING, Check.Status.RUNNING):
            family.add_metric([status], outstanding.get(status, 0))
        yield family


_gate_registry = CollectorRegistry(auto_describe=False)
_gate_registry.register(GateCollector())


def process_registry() -> CollectorRegistry:
    """The counters of this process, or of every process sharing PROMETHEUS_MULTIPROC_DIR."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def scraper_allowed(request) -> bool:
    token = settings.SMARTGATE_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(allowed, strict=False) for allowed in settings.SMARTGATE_METRICS_ALLOWED_IPS
    )


def metrics(request):
    if not scraper_allowed(request):
        return HttpResponseForbidden(
            "Metrics are served to the addresses in SMARTGATE_METRICS_ALLOWED_IPS or with the token."
        )
    body = generate_latest(process_registry()) + generate_latest(_gate_registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
