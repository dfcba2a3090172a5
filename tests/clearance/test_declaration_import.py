"""Declarations from a CSV or XLSX file: one row per vehicle, repeated rows for more lines, a result per
vehicle through the batch's path, and an error report by row and column that no spreadsheet runs."""

import csv
import io
import zipfile

import openpyxl
import pytest

from clearance.api.imports import COLUMNS
from clearance.models import Check, Declaration
from tests.factories import arrival_in, container

URL = "/api/v1/declarations/import/"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def row(n: int, **values) -> dict:
    """A vehicle's first row: the n-th truck with one goods line."""
    made = {
        "direction": "export",
        "route": "1119-1120",
        "expected_arrival": arrival_in(24),
        "vehicle_plate": f"12C-{400 + n:03d}.{n:02d}",
        "vehicle_country": "VN",
        "vehicle_max_gross_weight_kg": "40000",
        "driver_full_name": "Nguyễn Văn An",
        "driver_nationality": "VN",
        "driver_document_type": "passport",
        "driver_document_number": f"C{7000000 + n}",
        "driver_document_expires": "2030-01-01",
        "customs_number": f"30800000{n:04d}",
        "customs_type": "B11",
        "goods_hs_code": "84713020",
        "goods_description": "Laptops",
        "goods_quantity": "500",
        "goods_unit": "PCE",
        "goods_gross_weight_kg": "2000",
        "goods_value": "150000.00",
        "goods_currency": "USD",
        "goods_origin_country": "VN",
    }
    made.update(values)
    return made


def more(first: dict, **values) -> dict:
    """The same vehicle's next row: its plate and the line's own columns."""
    return {"vehicle_plate": first["vehicle_plate"], **values}


def as_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def as_xlsx(rows: list[dict]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS)
    for values in rows:
        sheet.append([values.get(column, "") for column in COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(api, content: bytes, media_type: str, **extra):
    return api.generic("POST", URL, content, content_type=media_type, **extra)


def two_vehicles() -> list[dict]:
    first = row(1, container_number=container(1)["number"], container_size="40", container_seals="SEAL001 SEAL002")
    return [
        first,
        more(
            first,
            container_number=container(2)["number"],
            container_size="20",
            goods_hs_code="85171300",
            goods_description="Phones",
            goods_quantity="100",
            goods_unit="PCE",
            goods_gross_weight_kg="300",
            goods_value="20000",
            goods_currency="USD",
            goods_origin_country="VN",
        ),
        row(2),
    ]


@pytest.mark.parametrize("media_type, encode", [(CSV, as_csv), (XLSX, as_xlsx)], ids=["csv", "xlsx"])
def test_a_file_declares_one_crossing_per_vehicle_with_its_repeated_lines(api, media_type, encode):
    response = upload(api, encode(two_vehicles()), media_type)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["created"], body["refused"], body["report"]) == (2, 0, []), body["report"]
    first, second = body["results"]
    assert (first["rows"], second["rows"]) == ([2, 3], [4])
    declared = first["declaration"]
    assert [c["number"] for c in declared["containers"]] == [container(1)["number"], container(2)["number"]]
    assert declared["containers"][0]["seals"] == ["SEAL001", "SEAL002"]
    assert [g["hs_code"] for g in declared["goods"]] == ["84713020", "85171300"]
    assert len(declared["customs_declarations"]) == 1  # the number repeated on its second row is one number
    assert declared == api.get(f"/api/v1/declarations/{declared['id']}/").json()
    assert Check.objects.filter(declaration_id=declared["id"]).count() == len(Check.Kind)


def test_the_refused_rows_are_reported_by_row_and_column(api):
    first = row(1)
    rows = [
        first,
        more(
            first,
            goods_hs_code="0810",
            goods_description="Durian",
            goods_quantity="1",
            goods_unit="KGM",
            goods_gross_weight_kg="1",
            goods_value="1",
            goods_currency="USD",
            goods_origin_country="VN",
        ),
        row(2),
        row(3, route="9999-0000"),
    ]

    response = upload(api, as_csv(rows), CSV)

    body = response.json()
    assert (body["created"], body["refused"]) == (1, 2)
    assert [result["status"] for result in body["results"]] == [400, 201, 400]
    assert {(line["row"], line["column"], line["code"]) for line in body["report"]} == {
        ("3", "goods_hs_code", "invalid_hs_code"),
        ("5", "route", "unknown_route"),
    }
    assert Declaration.objects.count() == 1

    report = upload(api, as_csv(rows[:2]), CSV, HTTP_ACCEPT="text/csv")
    assert report["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(report.content.decode())))
    assert [(line["row"], line["column"], line["code"]) for line in lines] == [
        ("3", "goods_hs_code", "invalid_hs_code")
    ]


def test_the_report_never_holds_a_formula(api):
    rows = [row(1, vehicle_plate='=HYPERLINK("http://evil.example","x")'), row(2, vehicle_plate="+12C-1")]

    report = upload(api, as_csv(rows), CSV, HTTP_ACCEPT="text/csv").content.decode()

    cells = [cell for line in csv.reader(io.StringIO(report)) for cell in line]
    assert not [cell for cell in cells if cell[:1] in {"=", "+", "-", "@"}]
    assert "'=HYPERLINK" in report and "'+12C-1" in report


def test_an_atomic_import_creates_all_or_none(api):
    rows = [row(1), row(2, goods_currency="XXQ")]

    response = upload(api, as_csv(rows), CSV, QUERY_STRING="atomic=true")

    assert response.status_code == 400
    assert [result["status"] for result in response.json()["results"]] == [424, 400]
    assert not Declaration.objects.exists()


def test_another_companys_crossing_is_never_named_in_my_report(api, other_api):
    assert upload(other_api, as_csv([row(1)]), CSV).json()["created"] == 1

    body = upload(api, as_csv([row(1, customs_number="308000009999")]), CSV).json()

    assert body["results"][0]["problem"]["code"] == "vehicle_has_active_crossing"
    theirs = Declaration.objects.get()
    assert theirs.reference not in str(body)
    assert api.get(f"/api/v1/declarations/{theirs.id}/").status_code == 404


@pytest.mark.parametrize("extension, media_type", [("xlsx", XLSX), ("csv", "text/csv")])
def test_the_template_lists_the_columns_with_an_example_that_imports(api, extension, media_type):
    response = api.get(f"/api/v1/declarations/import/template.{extension}")

    assert response.status_code == 200 and response["Content-Type"].startswith(media_type)
    if extension == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
        header = [cell for cell in next(sheet.iter_rows(values_only=True))]
    else:
        header = next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header == COLUMNS


def test_the_template_needs_a_key(client, reference):
    assert client.get("/api/v1/declarations/import/template.xlsx").status_code == 401


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (30 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    "content, media_type, words",
    [
        (zip_bomb(), XLSX, "unpacks to"),
        (b"PK\x03\x04 not a zip", XLSX, "not an XLSX"),
        ("vehicle_plate\n12C-123.45\n".encode("utf-16"), CSV, "UTF-8"),
        (b"plate,colour\n12C-123.45,red\n", CSV, "Unknown column"),
        (b"", CSV, "file"),
        (as_csv([]), CSV, "no row"),
    ],
    ids=["zip-bomb", "broken-zip", "utf-16", "unknown-column", "empty", "header-only"],
)
def test_a_file_that_cannot_be_read_is_one_400_naming_why(api, content, media_type, words):
    response = upload(api, content, media_type)

    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert not Declaration.objects.exists()


def test_a_file_over_the_row_limit_is_refused_whole(api, settings):
    settings.SMARTGATE_IMPORT_MAX_ROWS = 2

    response = upload(api, as_csv([row(1), row(2), row(3)]), CSV)

    assert response.status_code == 400 and "At most 2 rows" in response.json()["detail"]


def test_a_file_over_the_size_limit_is_a_413(api, settings):
    settings.SMARTGATE_IMPORT_MAX_BYTES = 1024

    response = upload(api, as_csv([row(n) for n in range(1, 20)]), CSV)

    assert response.status_code == 413


def test_a_formula_in_a_workbook_is_read_as_its_value_never_run(api):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS)
    values = row(1)
    values["goods_description"] = '=WEBSERVICE("http://evil.example")'
    sheet.append([values.get(column, "") for column in COLUMNS])
    out = io.BytesIO()
    workbook.save(out)

    body = upload(api, out.getvalue(), XLSX).json()

    # openpyxl's cached value of a formula never computed is empty: the line lacks its description.
    assert body["refused"] == 1
    assert body["report"][0]["column"] == "goods_description"


def test_the_same_file_with_the_same_key_is_answered_once(api):
    content = as_csv([row(1)])

    first = upload(api, content, CSV, HTTP_IDEMPOTENCY_KEY="import-1")
    again = upload(api, content, CSV, HTTP_IDEMPOTENCY_KEY="import-1")
    other = upload(api, as_csv([row(2)]), CSV, HTTP_IDEMPOTENCY_KEY="import-1")

    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert Declaration.objects.count() == 1


def test_a_multipart_upload_is_read_as_the_file_it_carries(api):
    upload_file = io.BytesIO(as_csv([row(1)]))
    upload_file.name = "trucks.csv"

    response = api.post(URL, {"file": upload_file}, format="multipart")

    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 1
