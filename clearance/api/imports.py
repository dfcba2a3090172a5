"""Declarations from a spreadsheet: CSV or XLSX, one row per vehicle, the rows of one vehicle repeated for
its further containers, goods lines, customs numbers or certificates.

A file becomes the bodies of POST declarations/ (then the batch's path takes them), and each field of a
body remembers the row and column it came from, so an error is reported on the row and in the column the
forwarder wrote. Files are hostile until read: a size limit, a row limit, an XLSX read as a stream by
openpyxl (``read_only``, cached values, never formulas) after its zip is measured (no zip bomb), XML
parsed through defusedxml, and an error report whose cells can never start a formula in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings

from clearance.errors import DomainError
from vehicles.models import Direction

# The columns of the template, in order: (column, where it goes in the body).
DECLARATION_COLUMNS = [
    ("direction", "direction"),
    ("route", "route"),
    ("expected_arrival", "expected_arrival"),
    ("vehicle_plate", "vehicle.plate"),
    ("vehicle_country", "vehicle.country"),
    ("vehicle_max_gross_weight_kg", "vehicle.max_gross_weight_kg"),
    ("vehicle_permit_number", "vehicle.permit_number"),
    ("vehicle_permit_expires", "vehicle.permit_expires"),
    ("trailer_plate", "trailer.plate"),
    ("trailer_country", "trailer.country"),
    ("driver_full_name", "driver.full_name"),
    ("driver_nationality", "driver.nationality"),
    ("driver_document_type", "driver.document_type"),
    ("driver_document_number", "driver.document_number"),
    ("driver_document_country", "driver.document_country"),
    ("driver_document_expires", "driver.document_expires"),
]
# Columns of the lines a row may add: (list in the body, the line's field, column). A line is the row's
# columns of that list; a line repeated on several rows of a vehicle (its customs number, a container) is
# kept once, goods lines never merge.
LINE_COLUMNS = [
    ("customs_declarations", "number", "customs_number"),
    ("customs_declarations", "type", "customs_type"),
    ("containers", "number", "container_number"),
    ("containers", "size", "container_size"),
    ("containers", "seals", "container_seals"),
    ("goods", "hs_code", "goods_hs_code"),
    ("goods", "description", "goods_description"),
    ("goods", "quantity", "goods_quantity"),
    ("goods", "unit", "goods_unit"),
    ("goods", "gross_weight_kg", "goods_gross_weight_kg"),
    ("goods", "value", "goods_value"),
    ("goods", "currency", "goods_currency"),
    ("goods", "origin_country", "goods_origin_country"),
    ("quarantine_certificates", "number", "certificate_number"),
    ("quarantine_certificates", "issued_on", "certificate_issued_on"),
    ("quarantine_certificates", "expires_on", "certificate_expires_on"),
]
COLUMNS = [column for column, _path in DECLARATION_COLUMNS] + [column for _list, _field, column in LINE_COLUMNS]
MERGED_LINES = {"customs_declarations", "containers", "quarantine_certificates"}
EXAMPLE_ROWS = [
    {
        "direction": Direction.EXPORT.value,
        "route": "1119-1120",
        "expected_arrival": "2027-01-15T08:00:00+07:00",
        "vehicle_plate": "12C-123.45",
        "vehicle_country": "VN",
        "vehicle_max_gross_weight_kg": "40000",
        "vehicle_permit_number": "VN-CN-2026-00123",
        "vehicle_permit_expires": "2027-06-30",
        "trailer_plate": "12R-012.34",
        "trailer_country": "VN",
        "driver_full_name": "Nguyễn Văn An",
        "driver_nationality": "VN",
        "driver_document_type": "passport",
        "driver_document_number": "C1234567",
        "driver_document_country": "VN",
        "driver_document_expires": "2030-01-01",
        "customs_number": "305123456789",
        "customs_type": "B11",
        "container_number": "CSQU3054383",
        "container_size": "40",
        "container_seals": "VNC123456",
        "goods_hs_code": "08106000",
        "goods_description": "Fresh durian",
        "goods_quantity": "18000",
        "goods_unit": "KGM",
        "goods_gross_weight_kg": "18000",
        "goods_value": "45000.00",
        "goods_currency": "USD",
        "goods_origin_country": "VN",
        "certificate_number": "KD-2026-001234",
        "certificate_issued_on": "2027-01-10",
        "certificate_expires_on": "2027-02-10",
    },
    # The same vehicle's second goods line: only the line's columns are needed.
    {
        "vehicle_plate": "12C-123.45",
        "goods_hs_code": "08109010",
        "goods_description": "Fresh rambutan",
        "goods_quantity": "2000",
        "goods_unit": "KGM",
        "goods_gross_weight_kg": "2000",
        "goods_value": "3000.00",
        "goods_currency": "USD",
        "goods_origin_country": "VN",
    },
]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv"
# A formula starts with one of these in a spreadsheet; a report cell starting so is quoted.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ImportRefused(DomainError):
    """The file itself cannot be read as declarations (not the rows' contents: those are per row)."""

    status = 400
    code = "invalid_import_file"
    title = "Invalid import file"


@dataclass
class ImportedDeclaration:
    """One declaration read from the file: its body and where each of its fields came from."""

    body: dict
    rows: list[int] = field(default_factory=list)
    first_row: int = 0
    # "goods[1]" → the row it came from
    line_rows: dict[str, int] = field(default_factory=dict)

    def locate(self, field_path: str | None) -> tuple[int, str]:
        """The row and column of a body's field path (``goods[1].hs_code`` → the goods line's row and
        ``goods_hs_code``); the vehicle's first row for the declaration's own fields."""
        if not field_path:
            return self.first_row, ""
        head, _dot, rest = field_path.partition(".")
        if "[" in head:
            name = head.split("[", 1)[0]
            row = self.line_rows.get(head, self.first_row)
            for list_name, line_field, column in LINE_COLUMNS:
                if list_name == name and (rest.split(".", 1)[0].split("[", 1)[0] == line_field):
                    return row, column
            return row, ""
        for column, path in DECLARATION_COLUMNS:
            if path == field_path or path.split(".", 1)[0] == field_path:
                return self.first_row, column
        for list_name, _line_field, column in LINE_COLUMNS:
            if list_name == head:
                return self.first_row, column.split("_", 1)[0] + "_…"
        return self.first_row, ""


def _cell_text(value) -> str:
    """A cell as the API reads it: text stripped; numbers without a spurious ``.0``; dates in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _rows_from_csv(content: bytes) -> list[dict[str, str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused("A CSV file must be UTF-8 (the template's encoding).") from None
    if "\x00" in text:
        raise ImportRefused("The file holds NUL characters: it is not a CSV file.")
    reader = csv.reader(io.StringIO(text, newline=""))
    return _rows(reader)


def _rows_from_xlsx(content: bytes) -> list[dict[str, str]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportRefused("The file is not an XLSX workbook (a zip of the Office Open XML parts).") from None
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > 200 or unpacked > settings.SMARTGATE_IMPORT_MAX_UNPACKED_BYTES:
        # A zip bomb, or a workbook far larger than 500 rows of declarations ever needs.
        raise ImportRefused(
            f"The workbook unpacks to {unpacked} bytes in {len(entries)} parts; at most "
            f"{settings.SMARTGATE_IMPORT_MAX_UNPACKED_BYTES} bytes are read."
        )
    import openpyxl  # noqa: PLC0415 - loaded on the first import only: a web process rarely needs it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True, keep_links=False)
    except Exception:  # openpyxl raises many types for a damaged workbook
        raise ImportRefused("The workbook cannot be read; save it again from the template.") from None
    try:
        sheet = workbook.worksheets[0]
        limit = settings.SMARTGATE_IMPORT_MAX_ROWS + 1  # the header, then the rows
        rows = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > limit + 1:
                break
            rows.append([_cell_text(value) for value in values[: len(COLUMNS) + 20]])
        return _rows(iter(rows))
    finally:
        workbook.close()


def _rows(reader) -> list[dict[str, str]]:
    header = [name.strip().lower() for name in next(reader, [])]
    while header and not header[-1]:
        header.pop()
    if not header:
        raise ImportRefused("The file is empty: its first row names the columns (see the template).")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise ImportRefused(
            f"Unknown column(s) {', '.join(repr(name) for name in unknown[:5])}; the columns are those of "
            f"GET /api/v1/declarations/import/template.xlsx: {', '.join(COLUMNS)}."
        )
    if len(set(header)) != len(header):
        raise ImportRefused("A column is named twice in the first row.")
    rows = []
    limit = settings.SMARTGATE_IMPORT_MAX_ROWS
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        if len(rows) == limit:
            raise ImportRefused(f"At most {limit} rows per file (after the header); split the file.")
        rows.append({name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(header)})
    if not rows:
        raise ImportRefused("The file has no row of declarations under its header.")
    return rows


def read_declarations(content: bytes, *, media_type: str) -> list[ImportedDeclaration]:
    """The declarations of a CSV or XLSX file, in the order their vehicles first appear. Raises
    ImportRefused for a file that cannot be read as such (its rows' contents are judged per row later)."""
    if len(content) > settings.SMARTGATE_IMPORT_MAX_BYTES:
        raise ImportRefused(f"The file is larger than {settings.SMARTGATE_IMPORT_MAX_BYTES} bytes.")
    if media_type == XLSX_MEDIA_TYPE or content[:4] == b"PK\x03\x04":
        rows = _rows_from_xlsx(content)
    else:
        rows = _rows_from_csv(content)
    by_vehicle: dict[str, ImportedDeclaration] = {}
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        plate = row.get("vehicle_plate", "")
        key = "".join(ch for ch in plate.upper() if ch.isalnum()) or f"row {number}"
        imported = by_vehicle.get(key)
        if imported is None:
            imported = by_vehicle[key] = ImportedDeclaration(body=_declaration_body(row), first_row=number)
        imported.rows.append(number)
        _add_lines(imported, row, number)
    return list(by_vehicle.values())


def _declaration_body(row: dict[str, str]) -> dict:
    body: dict = {}
    for column, path in DECLARATION_COLUMNS:
        value = row.get(column, "")
        if value == "":
            continue
        head, _dot, name = path.partition(".")
        if name:
            body.setdefault(head, {})[name] = value
        else:
            body[head] = value
    return body


def _add_lines(imported: ImportedDeclaration, row: dict[str, str], number: int) -> None:
    lines: dict[str, dict] = {}
    for list_name, line_field, column in LINE_COLUMNS:
        value = row.get(column, "")
        if value == "":
            continue
        if line_field == "seals":
            value = [seal for seal in value.replace(";", " ").replace(",", " ").split() if seal]
        lines.setdefault(list_name, {})[line_field] = value
    for list_name, line in lines.items():
        held = imported.body.setdefault(list_name, [])
        if list_name in MERGED_LINES and line in held:
            continue  # the vehicle's customs number, container or certificate repeated on its next row
        imported.line_rows[f"{list_name}[{len(held)}]"] = number
        held.append(line)


def problem_rows(imported: ImportedDeclaration, problem: dict) -> list[dict[str, str]]:
    """The error report's rows for one refused declaration: row, vehicle plate, column, code, message."""
    plate = imported.body.get("vehicle", {}).get("plate", "")
    errors = problem.get("errors") or [{"field": None, "code": problem.get("code", ""), "message": problem["detail"]}]
    report = []
    for error in errors:
        row, column = imported.locate(error.get("field"))
        report.append(
            {
                "row": str(row),
                "vehicle_plate": plate,
                "column": column,
                "field": error.get("field") or "",
                "code": error.get("code", ""),
                "message": error.get("message", ""),
            }
        )
    return report


REPORT_COLUMNS = ["row", "vehicle_plate", "column", "field", "code", "message"]


def spreadsheet_safe(value: str) -> str:
    """A cell that a spreadsheet shows as text: one starting like a formula is quoted (OWASP CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def error_report_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: spreadsheet_safe(row.get(name, "")) for name in REPORT_COLUMNS})
    return out.getvalue()


def template_csv() -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in EXAMPLE_ROWS:
        writer.writerow(row)
    return "\ufeff" + out.getvalue()  # a BOM: spreadsheets then open the Vietnamese names as UTF-8


def template_xlsx() -> bytes:
    import openpyxl  # noqa: PLC0415 - see _rows_from_xlsx

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("declarations")
    sheet.append(COLUMNS)
    for row in EXAMPLE_ROWS:
        sheet.append([row.get(column, "") for column in COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
