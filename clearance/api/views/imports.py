"""Declarations from a CSV or XLSX file, through the batch's path, with a per-row error report."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import parsers, renderers

from clearance.api.idempotency import idempotent
from clearance.api.imports import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    ImportRefused,
    error_report_csv,
    problem_rows,
    read_declarations,
    template_csv,
    template_xlsx,
)
from clearance.api.openapi import IDEMPOTENCY_KEY, problems
from clearance.api.parsers import PayloadTooLarge, _bad_characters
from clearance.api.renderers import JSONRenderer
from clearance.api.views.base import CompanyApi
from clearance.api.views.batch import (
    NOT_CREATED,
    BatchOutput,
    _problem,
    batch_response,
    declarations_batch_submit,
)
from clearance.errors import RuleViolations


class SpreadsheetParser(parsers.BaseParser):
    """The file itself as the body: ``Content-Type: text/csv`` or the XLSX media type, bounded."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.SMARTGATE_IMPORT_MAX_BYTES
        content = stream.read(limit + 1) if stream is not None else b""
        if len(content) > limit:
            raise PayloadTooLarge(f"The file is larger than {limit} bytes (SMARTGATE_IMPORT_MAX_BYTES).")
        return {"content": content, "media_type": (media_type or "").split(";")[0].strip().lower()}


class ImportReportRenderer(renderers.BaseRenderer):
    """``Accept: text/csv``: the error report, one line per error of each refused declaration's rows."""

    media_type = CSV_MEDIA_TYPE
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict) and "report" in data:
            return error_report_csv(data["report"]).encode()
        # A problem about the request itself (authentication, a file that cannot be read).
        detail = data.get("detail", "") if isinstance(data, dict) else str(data)
        return error_report_csv(
            [{"row": "", "code": str(data.get("code", "")) if isinstance(data, dict) else "", "message": detail}]
        ).encode()


class DeclarationImportApi(CompanyApi):
    parser_classes = [parsers.MultiPartParser, SpreadsheetParser]
    renderer_classes = [JSONRenderer, ImportReportRenderer]

    @extend_schema(
        operation_id="declarations_import",
        summary="Declare crossings from a CSV or XLSX file",
        description="The file is the body (`Content-Type: text/csv` or `" + XLSX_MEDIA_TYPE + "`), or the "
        "`file` part of a multipart form. One row per vehicle; a vehicle's further containers, goods lines, "
        "customs numbers or certificates on more rows with the same `vehicle_plate` (the template: GET "
        "declarations/import/template.xlsx or .csv). Each vehicle is declared as by POST declarations/ "
        "through the batch's path (`?atomic=true`: all or none). The answer is the batch's, each result "
        "with the `rows` it came from and a `report` of every error by row and column; with "
        "`Accept: text/csv`, that report alone as CSV.",
        request={CSV_MEDIA_TYPE: OpenApiTypes.BINARY, XLSX_MEDIA_TYPE: OpenApiTypes.BINARY},
        parameters=[IDEMPOTENCY_KEY],
        responses={200: BatchOutput, 201: BatchOutput, **problems(400, 401, 413, 422, 429)},
    )
    @idempotent
    def post(self, request):
        content, media_type = _uploaded(request)
        imported = read_declarations(content, media_type=media_type)
        if len(imported) > settings.SMARTGATE_BATCH_MAX_ITEMS:
            raise ImportRefused(f"At most {settings.SMARTGATE_BATCH_MAX_ITEMS} vehicles per file.")
        atomic = request.query_params.get("atomic", "").lower() in {"1", "true", "yes"}
        outcomes, created = _submit(self, imported, atomic=atomic)
        response = batch_response(outcomes, created=created, atomic=atomic)
        report = []
        for declaration, result in zip(imported, response.data["results"], strict=True):
            result["rows"] = declaration.rows
            if "problem" in result and result["problem"].get("code") != "batch_aborted":
                report += problem_rows(declaration, result["problem"])
        response.data["report"] = report
        return response


def _submit(view, imported, *, atomic: bool):
    """The batch's path, after refusing the text no field can hold (a NUL) as its JSON parser would."""
    bodies = []
    refused = {}
    for index, declaration in enumerate(imported):
        errors = _bad_characters(declaration.body)
        if errors:
            refused[index] = _problem(view, RuleViolations(errors))
        bodies.append(declaration.body if not errors else None)
    outcomes, created = declarations_batch_submit(view, [b for b in bodies if b is not None], atomic=atomic)
    merged, taken = [], iter(outcomes)
    for index in range(len(imported)):
        merged.append({"problem": refused[index]} if index in refused else next(taken))
    if atomic and refused:
        merged = [o if "problem" in o else {"problem": NOT_CREATED} for o in merged]
        created = []
    return merged, created


def _uploaded(request) -> tuple[bytes, str]:
    if "file" in request.FILES:
        upload = request.FILES["file"]
        if upload.size > settings.SMARTGATE_IMPORT_MAX_BYTES:
            raise PayloadTooLarge(f"The file is larger than {settings.SMARTGATE_IMPORT_MAX_BYTES} bytes.")
        return upload.read(), (upload.content_type or "").lower()
    data = request.data
    if not isinstance(data, dict) or not data.get("content"):
        raise ImportRefused("Send the CSV or XLSX file as the body, or as the file part of a multipart form.")
    return data["content"], data["media_type"]


class DeclarationImportTemplateApi(CompanyApi):
    @extend_schema(
        operation_id="declarations_import_template",
        summary="The import template (XLSX or CSV): the columns and an example vehicle",
        responses={(200, XLSX_MEDIA_TYPE): OpenApiResponse(OpenApiTypes.BINARY), **problems(401, 429)},
    )
    def get(self, request, extension: str):
        if extension == "csv":
            response = HttpResponse(template_csv(), content_type=f"{CSV_MEDIA_TYPE}; charset=utf-8")
        else:
            response = HttpResponse(template_xlsx(), content_type=XLSX_MEDIA_TYPE)
        response["Content-Disposition"] = f'attachment; filename="smartgate-declarations.{extension}"'
        return response
