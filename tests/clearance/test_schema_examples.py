"""A newcomer reads the schema: the enums it may send, and an example body that the API accepts."""

import pytest
import yaml

from tests.factories import arrival_in


@pytest.fixture
def schema(client, db):
    return yaml.safe_load(client.get("/api/v1/schema/").content)


def resolve(schema, node):
    """A property with its enum component folded in."""
    while "$ref" in node or "allOf" in node:
        ref = node["$ref"] if "$ref" in node else node["allOf"][0]["$ref"]
        node = {**node, **schema["components"]["schemas"][ref.rsplit("/", 1)[1]]}
        node.pop("allOf" if "allOf" in node else "$ref", None)
        node.pop("$ref", None)
    return node


def test_the_schema_lists_routes_directions_and_declaration_types(schema):
    declaration = schema["components"]["schemas"]["DeclarationInputRequest"]["properties"]
    customs = schema["components"]["schemas"]["CustomsDeclarationInputRequest"]["properties"]

    assert resolve(schema, declaration["route"])["enum"] == ["1119-1120", "1088/2-1089"]
    assert set(resolve(schema, declaration["direction"])["enum"]) == {"export", "import"}
    assert {"B11", "A11", "A12", "G12"} <= set(resolve(schema, customs["type"])["enum"])
    assert "Export for trade" in customs["type"]["description"]
    assert {"RouteCodeEnum", "CustomsDeclarationTypeEnum"} <= set(schema["components"]["schemas"])


def test_the_documented_example_is_accepted_by_the_api(schema, api):
    content = schema["paths"]["/api/v1/declarations/"]["post"]["requestBody"]["content"]["application/json"]
    example = next(iter(content["examples"].values()))["value"]

    response = api.post("/api/v1/declarations/", {**example, "expected_arrival": arrival_in(24)}, format="json")

    assert response.status_code == 201, response.json()


def test_every_documented_example_is_accepted_by_the_api(schema, api):
    """The empty return, the epidemic-period and the legs examples too (each on its own: they share a truck)."""
    content = schema["paths"]["/api/v1/declarations/"]["post"]["requestBody"]["content"]["application/json"]
    examples = {name: example["value"] for name, example in content["examples"].items()}
    assert len(examples) == 4

    for name, example in examples.items():
        response = api.post("/api/v1/declarations/", {**example, "expected_arrival": arrival_in(24)}, format="json")
        assert response.status_code == 201, (name, response.json())
        assert (
            api.post(
                f"/api/v1/declarations/{response.json()['id']}/cancel/", {"reason": "example"}, format="json"
            ).status_code
            == 200
        )
