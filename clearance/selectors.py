"""Read queries. Everything a forwarder reads is scoped by its company, so another's row cannot leak."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from clearance.errors import FieldError, RuleViolations
from clearance.models import Company, Declaration, DeclarationEvent
from vehicles.models import Direction
from vehicles.plates import normalize_plate


class DeclarationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Declaration.Status.choices)
    stage = django_filters.ChoiceFilter(choices=Declaration.Stage.choices)
    route = django_filters.CharFilter(field_name="route__code")
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    plate = django_filters.CharFilter(method="filter_plate")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Declaration
        fields = []

    def filter_plate(self, queryset, name, value):
        # Any written form of the plate: the vehicle's or the trailer's normalized plate.
        return queryset.filter(vehicle__normalized_plate=normalize_plate(value))


def _with_everything(queryset: QuerySet) -> QuerySet:
    """What the representation shows, in a constant number of queries whatever the page size."""
    return queryset.select_related("route", "vehicle", "trailer", "driver", "company").prefetch_related(
        "customs_declarations", "containers", "goods", "quarantine_certificates", "checks", "inspections",
    )


def declaration_list(*, company: Company, filters: dict) -> QuerySet[Declaration]:
    """The company's declarations, newest first. Raises RuleViolations for a malformed filter."""
    filterset = DeclarationFilter(filters, queryset=Declaration.objects.filter(company=company))
    if not filterset.is_valid():
        raise RuleViolations([
            FieldError(name, error.code or "invalid", str(error.message % (error.params or {})))
            for name, errors in filterset.errors.as_data().items() for error in errors
        ])
    return _with_everything(filterset.qs)


def declaration_get(*, company: Company, declaration_id: int) -> Declaration:
    """Raises Declaration.DoesNotExist for another company's declaration, as for a missing one."""
    return _with_everything(Declaration.objects.filter(company=company)).get(id=declaration_id)


def declaration_events(*, company: Company, declaration_id: int) -> QuerySet[DeclarationEvent]:
    declaration = Declaration.objects.only("id").get(company=company, id=declaration_id)
    return DeclarationEvent.objects.filter(declaration=declaration).order_by("id")


