"""A declaration as a forwarder reads it, built by hand from the rows the selectors loaded.

``DeclarationOutput`` (clearance.api.serializers.declarations) stays the schema's source; this module
produces the same JSON without DRF's per-row, per-field machinery, which was most of a list page's time
(tests/clearance/test_declaration_output.py holds the two equal). The nested parts are "compiled" once
from their output serializers: each field's name, where its value is read, and the one conversion DRF
would apply; the disclosure policy (clearance.disclosure) filters checks' and inspections' reasons as the
serializers do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import cache

from django.utils import timezone
from rest_framework import serializers

from clearance import disclosure
from clearance.api.serializers.checks import CheckOutput
from clearance.api.serializers.inspections import InspectionOutput
from clearance.api.serializers.legs import LegOutput
from clearance.api.serializers.parts import (
    ContainerOutput,
    CustomsDeclarationOutput,
    DriverOutput,
    GoodsLineOutput,
    QuarantineCertificateOutput,
    TrailerOutput,
    VehicleOutput,
)
from clearance.api.serializers.payments import AppliedCoefficientOutput, FeeOutput
from clearance.models import Declaration
from vehicles.models import Trailer

Plan = list[tuple[str, str, Callable]]


def _iso_datetime(tz) -> Callable[[datetime], str]:
    """DRF's ISO 8601 rendering of an aware time in ``tz`` (the request's current time zone)."""

    def render(value: datetime) -> str:
        text = value.astimezone(tz).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return render


def _iso_date(value) -> str | None:
    if not value:
        return None
    if isinstance(value, str):
        return value
    return value.isoformat()


_DATETIME = object()  # a marker: converted with the time zone of the call


def _converter(field: serializers.Field):
    """The conversion DRF applies to a non-null value of ``field``."""
    if isinstance(field, serializers.DateTimeField):
        return _DATETIME
    if isinstance(field, serializers.DateField):
        return _iso_date
    if type(field) is serializers.CharField:
        return str
    if type(field) is serializers.IntegerField:
        return int
    return field.to_representation


@cache
def _plan(serializer_class) -> Plan:
    """(name, attribute, conversion) of each field the serializer shows, in its order; its method fields
    are left to the caller."""
    return [
        (name, field.source, _converter(field))
        for name, field in serializer_class().fields.items()
        if not isinstance(field, serializers.SerializerMethodField)
    ]


def _row(plan: Plan, row, render_datetime, *, mapping: bool = False) -> dict:
    """One row by its plan: a null attribute stays null, as DRF leaves it."""
    data = {}
    for name, source, convert in plan:
        value = row.get(source) if mapping else getattr(row, source)
        if value is None:
            data[name] = None
        elif convert is _DATETIME:
            data[name] = render_datetime(value)
        else:
            data[name] = convert(value)
    return data


@cache
def _party_defaults(model) -> dict:
    return {field.name: field.get_default() for field in model._meta.concrete_fields}


def _party(declaration: Declaration, name: str, output, model, render_datetime) -> dict | None:
    """A vehicle, trailer or driver as declared (``Declaration.declared``): what a field never written
    shows its model's default, as the unsaved instance ``Declaration._declared`` builds would."""
    values = (declaration.declared or {}).get(name)
    if values is None:
        return None
    row = {**_party_defaults(model), **values}
    for source in Declaration.DECLARED_DATES:
        if row.get(source) and isinstance(row[source], str):
            row[source] = date.fromisoformat(row[source])
    return _row(_plan(output), row, render_datetime, mapping=True)


def _fee(fee, render_datetime) -> dict:
    data = _row(_plan(FeeOutput), fee, render_datetime)
    coefficients = [
        _row(_plan(AppliedCoefficientOutput), item, render_datetime, mapping=True)
        for item in fee.applied_coefficients()
    ]
    # In the serializer's order: coefficients sits between journey and breakdown.
    return {name: coefficients if name == "coefficients" else data[name] for name in FeeOutput.Meta.fields}


def _check(check, render_datetime) -> dict:
    data = _row(_plan(CheckOutput), check, render_datetime)
    # The summary of hidden reasons follows the check's own outcome (as CheckOutput.to_representation).
    data["reasons"] = disclosure.forwarder_reasons(check.reasons or [], outcome=check.outcome)
    return data


def _inspection(inspection, render_datetime) -> dict:
    data = _row(_plan(InspectionOutput), inspection, render_datetime)
    if inspection.reasons is not None:
        data["reasons"] = disclosure.forwarder_reasons(inspection.reasons or [])
    return data


@cache
def _legs_output() -> serializers.ListSerializer:
    return LegOutput(many=True)


def declaration_data(declaration: Declaration, *, queue: dict, render_datetime) -> dict:
    """One declaration, exactly as ``DeclarationOutput`` shows it."""
    d = declaration
    version = d.version
    position, eta = queue.get(d.id, (None, None))
    lane, yard, slot = d.lane, d.yard, d.slot
    fee = getattr(d, "fee", None)
    # Only a crossing in legs has any (selectors.lines_attach reads them for those alone; iterating the
    # empty set left for the others still compiles a query, 50 times a page).
    legs = list(d.legs.all()) if d.handover_status else []
    return {
        "id": d.id,
        "reference": d.reference,
        "company": d.company.tax_code,
        "kind": d.kind,
        "status": d.status,
        "stage": d.stage,
        "version": version,
        "needs_quarantine": d.needs_quarantine,
        "channel": d.channel or None,
        "direction": d.direction,
        "route": d.route.code,
        "expected_arrival": render_datetime(d.expected_arrival),
        "customs_declarations": [
            _row(_plan(CustomsDeclarationOutput), line, render_datetime) for line in _lines(d, "customs_declarations")
        ],
        "vehicle": _party(d, "vehicle", VehicleOutput, VehicleOutput.Meta.model, render_datetime),
        "trailer": _party(d, "trailer", TrailerOutput, Trailer, render_datetime),
        "driver": _party(d, "driver", DriverOutput, DriverOutput.Meta.model, render_datetime),
        "containers": [_row(_plan(ContainerOutput), line, render_datetime) for line in _lines(d, "containers")],
        "goods": [_row(_plan(GoodsLineOutput), line, render_datetime) for line in _lines(d, "goods")],
        "quarantine_certificates": [
            _row(_plan(QuarantineCertificateOutput), line, render_datetime)
            for line in _lines(d, "quarantine_certificates")
        ],
        "health_declaration": d.health_declaration,
        "checks": [_check(check, render_datetime) for check in _lines(d, "checks") if check.version == version],
        "inspections": [
            _inspection(inspection, render_datetime)
            for inspection in _lines(d, "inspections")
            if inspection.version == version
        ],
        "smart_lane_eligible": d.smart_lane_eligible,
        "smart_lane_reason": d.smart_lane_reason,
        "slot_starts_at": _maybe(render_datetime, slot.starts_at if slot is not None else None),
        "slot_moves": d.slot_moves,
        "yard": yard.code if yard is not None else None,
        "queue_position": position,
        "estimated_call_at": _maybe(render_datetime, eta),
        "lane": lane.code if lane is not None else None,
        "arrived_at": _maybe(render_datetime, d.arrived_at),
        "called_at": _maybe(render_datetime, d.called_at),
        "in_lane_at": _maybe(render_datetime, d.in_lane_at),
        "crossed_at": _maybe(render_datetime, d.crossed_at),
        "dwell_minutes": d.dwell_times(),
        # Rare (a crossing in legs): DRF's own serializer, built once per process.
        "legs": _legs_output().to_representation(legs) if legs else [],
        "handover_status": d.handover_status,
        "fee": _fee(fee, render_datetime) if fee else None,
        "created_at": _maybe(render_datetime, d.created_at),
        "updated_at": _maybe(render_datetime, d.updated_at),
    }


def _lines(declaration: Declaration, name: str):
    """The rows of ``name`` as ``selectors.lines_attach`` left them, read without building a related
    manager (six per declaration, 300 a page); through the manager when they were not attached."""
    attached = declaration.__dict__.get("_prefetched_objects_cache", {}).get(name)
    return attached if attached is not None else getattr(declaration, name).all()


def _maybe(render_datetime, value):
    return None if value is None else render_datetime(value)


def declarations_data(declarations: Iterable[Declaration], *, queue: dict) -> list[dict]:
    """Each of ``declarations`` as ``DeclarationOutput`` shows it, in the current time zone (the API's
    is UTC)."""
    render_datetime = _iso_datetime(timezone.get_current_timezone())
    return [declaration_data(d, queue=queue, render_datetime=render_datetime) for d in declarations]
