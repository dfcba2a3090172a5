"""The OpenAPI document a forwarder's developer generates a client from: complete, truthful and valid."""

import json

import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

LIST = "/api/v1/declarations/"
DETAIL = "/api/v1/declarations/{declaration_id}/"
EVENTS = "/api/v1/declarations/{declaration_id}/events/"
CANCEL = "/api/v1/declarations/{declaration_id}/cancel/"
SLOT = "/api/v1/declarations/{declaration_id}/slot/"
SLOTS = "/api/v1/slots/"
LOAD = "/api/v1/gates/load/"

OPERATIONS = {
    (LIST, "get"): "declarations_list",
    (LIST, "post"): "declarations_create",
    (DETAIL, "get"): "declarations_retrieve",
    (DETAIL, "patch"): "declarations_amend",
    (EVENTS, "get"): "declarations_events",
    (CANCEL, "post"): "declarations_cancel",
    (SLOT, "post"): "declarations_slot_book",
    (SLOT, "delete"): "declarations_slot_release",
    (SLOTS, "get"): "slots_list",
    ("/api/v1/declarations/{declaration_id}/ticket/", "get"): "declarations_ticket",
    ("/api/v1/webhooks/", "get"): "webhooks_list",
    ("/api/v1/webhooks/", "post"): "webhooks_create",
    ("/api/v1/webhooks/{subscription_id}/", "get"): "webhooks_retrieve",
    ("/api/v1/webhooks/{subscription_id}/", "patch"): "webhooks_update",
    ("/api/v1/webhooks/{subscription_id}/", "delete"): "webhooks_delete",
    ("/api/v1/webhooks/{subscription_id}/rotate-secret/", "post"): "webhooks_rotate_secret",
    ("/api/v1/webhooks/{subscription_id}/test/", "post"): "webhooks_test",
    ("/api/v1/webhooks/{subscription_id}/deliveries/", "get"): "webhooks_deliveries",
    ("/api/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver/", "post"): "webhooks_redeliver",
    ("/api/v1/events/", "get"): "events_list",
    ("/api/v1/declarations/batch/", "post"): "declarations_batch",
    ("/api/v1/declarations/import/", "post"): "declarations_import",
    ("/api/v1/declarations/import/template.{extension}", "get"): "declarations_import_template",
}
DEVICE_OPERATIONS = {
    ("/api/v1/gate/reads/", "post"): "gate_reads",
    ("/api/v1/gate/movements/", "post"): "gate_movements",
    ("/api/v1/gate/weights/", "post"): "gate_weights",
    ("/api/v1/gate/handovers/", "post"): "gate_handovers",
    ("/api/v1/gate/reads/offline/", "post"): "gate_reads_offline",
    ("/api/v1/gate/passes/", "get"): "gate_passes",
    ("/api/v1/gate/revocations/", "get"): "gate_revocations",
}
OFFICER_OPERATIONS = {("/api/v1/inspections/{inspection_id}/result/", "post"): "inspections_result"}
CUSTOMS_OPERATIONS = {("/api/v1/customs/notifications/", "post"): "customs_notifications"}
PUBLIC_OPERATIONS = {
    (LOAD, "get"): "gates_load",
    ("/api/v1/payments/callback/", "post"): "payments_callback",
    ("/api/v1/audit/daily-heads/", "get"): "audit_daily_heads",
    ("/api/v1/gate/keys/", "get"): "gate_keys",
}
PROBLEM_REF = "#/components/schemas/Problem"


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    """The document as served, fetched once without any credentials."""
    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200, response.content
    assert "json" in response["Content-Type"]
    return json.loads(response.content)


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].removeprefix("#/components/schemas/")
        node = schema["components"]["schemas"][name]
    if "allOf" in node and len(node["allOf"]) == 1:
        return _resolve(schema, node["allOf"][0])
    return node


def _operation(schema, path, method) -> dict:
    return schema["paths"][path][method]


def _body_schema(schema, path, method) -> dict:
    content = _operation(schema, path, method)["requestBody"]["content"]
    return _resolve(schema, content["application/json"]["schema"])


def test_the_schema_is_served_without_credentials_as_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "smartgate API"
    assert schema["info"]["version"]


def test_the_schema_is_a_valid_openapi_document(schema):
    validate_schema(schema)  # raises jsonschema.ValidationError when it is not


def test_every_endpoint_and_method_is_documented(schema):
    documented = {
        (path, method): operation["operationId"]
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if method in ("get", "post", "patch", "put", "delete")
    }

    assert documented == {
        **OPERATIONS,
        **PUBLIC_OPERATIONS,
        **DEVICE_OPERATIONS,
        **OFFICER_OPERATIONS,
        **CUSTOMS_OPERATIONS,
    }


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_every_operation_requires_the_api_key(schema, path, method):
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["ApiKeyAuth"]["description"],
    }
    assert _operation(schema, path, method)["security"] == [{"ApiKeyAuth": []}]


def test_the_create_request_body_has_the_documented_fields(schema):
    # when the request body of declarations_create is read
    body = _body_schema(schema, LIST, "post")

    # then it has every field of the contract, requires the essential ones and offers no server field
    assert set(body["properties"]) == {
        "kind",
        "direction",
        "route",
        "expected_arrival",
        "customs_declarations",
        "vehicle",
        "trailer",
        "driver",
        "containers",
        "goods",
        "quarantine_certificates",
        "health_declaration",
        "legs",
    }
    # goods and customs_declarations are required for cargo and refused for an empty return (kind); vehicle
    # and driver are required unless the crossing is declared in legs (their descriptions say so).
    assert set(body["required"]) == {"direction", "route", "expected_arrival"}
    assert "unless the crossing is declared in legs" in body["properties"]["vehicle"]["description"]
    assert body["properties"]["expected_arrival"]["format"] == "date-time"
    assert not {"id", "reference", "status", "stage", "version", "company", "needs_quarantine"} & set(
        body["properties"]
    )


@pytest.mark.parametrize(
    ("part", "fields", "required"),
    [
        (
            "vehicle",
            {
                "plate",
                "country",
                "max_gross_weight_kg",
                "permit_number",
                "permit_expires",
                "vehicle_class",
                "is_autonomous",
            },
            {"plate", "country", "max_gross_weight_kg"},
        ),
        ("trailer", {"plate", "country"}, {"plate", "country"}),
        (
            "driver",
            {"full_name", "nationality", "document_type", "document_number", "document_country", "document_expires"},
            {"full_name", "nationality", "document_type", "document_number", "document_expires"},
        ),
        ("customs_declarations", {"number", "type"}, {"number", "type"}),
        ("containers", {"number", "size", "seals"}, {"number", "size"}),
        (
            "goods",
            {"hs_code", "description", "quantity", "unit", "gross_weight_kg", "value", "currency", "origin_country"},
            {"hs_code", "description", "quantity", "unit", "gross_weight_kg", "value", "currency", "origin_country"},
        ),
        ("quarantine_certificates", {"number", "issued_on", "expires_on"}, {"number", "issued_on", "expires_on"}),
    ],
)
def test_the_create_request_body_documents_each_part(schema, part, fields, required):
    node = _body_schema(schema, LIST, "post")["properties"][part]
    node = _resolve(schema, node["items"] if node.get("type") == "array" else node)

    assert set(node["properties"]) == fields
    assert set(node.get("required", [])) == required


def test_the_amend_request_body_offers_only_amendable_fields(schema):
    body = _body_schema(schema, DETAIL, "patch")

    assert set(body["properties"]) == {
        "expected_arrival",
        "vehicle",
        "trailer",
        "driver",
        "containers",
        "goods",
        "customs_declarations",
        "quarantine_certificates",
        "health_declaration",
    }
    assert not body.get("required")
    parameters = {(p["in"], p["name"]): p for p in _operation(schema, DETAIL, "patch")["parameters"]}
    assert parameters[("header", "If-Match")]["required"] is True


def test_the_cancel_request_body_needs_a_reason(schema):
    body = _body_schema(schema, CANCEL, "post")

    assert set(body["properties"]) == {"reason"}
    assert body["required"] == ["reason"]


def test_the_problem_schema_has_the_problem_details_fields(schema):
    problem = schema["components"]["schemas"]["Problem"]
    field_error = _resolve(schema, problem["properties"]["errors"]["items"])

    assert set(problem["properties"]) == {"type", "title", "status", "detail", "code", "errors"}
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert set(field_error["properties"]) == {"field", "code", "message"}


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        (LIST, "get", {"400", "401", "429"}),
        (LIST, "post", {"400", "401", "409", "413", "422", "429"}),
        (DETAIL, "get", {"401", "404", "429"}),
        (DETAIL, "patch", {"400", "401", "404", "409", "412", "413", "428", "429"}),
        (EVENTS, "get", {"401", "404", "429"}),
        (CANCEL, "post", {"400", "401", "404", "409", "429"}),
    ],
)
def test_error_responses_reference_the_problem_schema(schema, path, method, statuses):
    responses = _operation(schema, path, method)["responses"]

    errors = {code: response for code, response in responses.items() if int(code) >= 400}
    assert set(errors) == statuses
    for code, response in errors.items():
        [(_media_type, content)] = response["content"].items()
        assert content["schema"] == {"$ref": PROBLEM_REF}, code
        assert response["description"], code


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_error_responses_are_documented_as_problem_json(schema, path, method):
    # The API answers errors as application/problem+json; a client generated from the document must expect that.
    for code, response in _operation(schema, path, method)["responses"].items():
        if int(code) >= 400:
            assert set(response["content"]) == {"application/problem+json"}, (code, set(response["content"]))


@pytest.mark.parametrize(
    ("path", "method", "status", "component"),
    [
        (LIST, "post", "201", "DeclarationOutput"),
        (DETAIL, "get", "200", "DeclarationOutput"),
        (DETAIL, "patch", "200", "DeclarationOutput"),
        (CANCEL, "post", "200", "DeclarationOutput"),
    ],
)
def test_success_responses_are_the_declaration(schema, path, method, status, component):
    content = _operation(schema, path, method)["responses"][status]["content"]["application/json"]

    assert content["schema"] == {"$ref": f"#/components/schemas/{component}"}


@pytest.mark.parametrize(("path", "item"), [(LIST, "DeclarationOutput"), (EVENTS, "DeclarationEventOutput")])
def test_paginated_lists_are_documented_as_the_page_returned(schema, path, item):
    # GET answers {"next": ..., "previous": ..., "results": [...]}: the document must say so, not a bare array.
    page = _resolve(
        schema, _operation(schema, path, "get")["responses"]["200"]["content"]["application/json"]["schema"]
    )

    assert page.get("type") == "object", page
    assert {"next", "previous", "results"} <= set(page["properties"])
    assert page["properties"]["results"]["items"] == {"$ref": f"#/components/schemas/{item}"}


def test_the_declaration_output_documents_what_the_api_returns(schema, api, declare):
    # given a declaration as the API returns it
    returned = declare().json()

    # then every field it returns is documented, and every documented field is returned
    documented = schema["components"]["schemas"]["DeclarationOutput"]["properties"]
    assert set(returned) == set(documented)


def test_list_filters_are_documented(schema):
    parameters = {p["name"] for p in _operation(schema, LIST, "get")["parameters"] if p["in"] == "query"}

    assert {
        "status",
        "stage",
        "route",
        "direction",
        "plate",
        "created_after",
        "created_before",
        "cursor",
        "limit",
    } <= parameters


def test_the_docs_page_is_served_as_html_without_credentials(db):
    response = APIClient().get("/api/v1/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger" in response.content.lower()
    # The page's init script is a URL of its own (no inline script, for the Content-Security-Policy).
    script = APIClient().get("/api/v1/docs/?script=")
    assert b"/api/v1/schema/" in script.content


def test_the_event_types_are_documented_as_an_enum(schema):
    from clearance.models import CompanyEvent

    event = _resolve(schema, schema["components"]["schemas"]["CompanyEventOutput"])
    documented = _resolve(schema, event["properties"]["type"])
    assert set(documented["enum"]) == set(CompanyEvent.Type.values)
    body = _body_schema(schema, "/api/v1/webhooks/", "post")
    assert set(body["required"]) == {"url", "events"}


def test_the_customs_notice_requires_the_customs_system_key(schema):
    operation = _operation(schema, "/api/v1/customs/notifications/", "post")
    assert operation["security"] == [{"CustomsKeyAuth": []}]


def test_the_gate_read_documents_the_ticket_and_its_hold_reasons(schema):
    body = _body_schema(schema, "/api/v1/gate/reads/", "post")
    output = _resolve(
        schema,
        _operation(schema, "/api/v1/gate/reads/", "post")["responses"]["200"]["content"]["application/json"]["schema"],
    )
    reasons = _resolve(schema, output["properties"]["reasons"]["items"])

    assert "ticket" in body["properties"] and "ticket" not in body.get("required", [])
    assert {"ticket_invalid", "ticket_void", "ticket_replayed", "ticket_not_for_vehicle"} <= set(reasons["enum"])
