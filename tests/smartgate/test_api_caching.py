"""Responses carrying personal data are never stored by a browser, proxy or ERP cache."""

from tests.factories import TruckBody


def test_a_declaration_with_its_driver_is_sent_no_store(api):
    created = api.post("/api/v1/declarations/", TruckBody(), format="json")
    detail = api.get(created["Location"])

    assert created.status_code == 201
    assert created["Cache-Control"] == "no-store"
    assert detail.json()["driver"]["full_name"]
    assert detail["Cache-Control"] == "no-store"


def test_errors_and_lists_of_the_api_are_no_store_too(api, client):
    assert api.get("/api/v1/declarations/")["Cache-Control"] == "no-store"
    assert client.get("/api/v1/declarations/")["Cache-Control"] == "no-store"  # 401
    assert api.get("/api/v1/declarations/999999/")["Cache-Control"] == "no-store"  # 404
