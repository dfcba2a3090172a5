"""Someone guessing API keys from one address is refused after a few tries; others are not."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import TruckBody


@pytest.fixture
def guesser(db, settings):
    settings.SMARTGATE_API_KEY_FAILURE_LIMIT = 3
    client = APIClient(REMOTE_ADDR="198.51.100.23")
    client.credentials(HTTP_AUTHORIZATION="Api-Key abcdefgh.not-a-real-key")
    return client


def test_guesses_past_the_limit_are_refused_with_retry_after(guesser, settings):
    answers = [guesser.get("/api/v1/declarations/").status_code for _ in range(4)]

    refused = guesser.get("/api/v1/declarations/")
    assert answers == [401, 401, 401, 429]
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) == settings.SMARTGATE_API_KEY_FAILURE_WINDOW_SECONDS


def test_a_device_key_guess_counts_too(guesser):
    for _ in range(3):
        guesser.post("/api/v1/gate/reads/", {}, format="json")

    assert guesser.post("/api/v1/gate/reads/", {}, format="json").status_code == 429


def test_another_address_with_a_real_key_is_not_refused(guesser, api):
    for _ in range(3):
        guesser.get("/api/v1/declarations/")

    assert api.post("/api/v1/declarations/", TruckBody(), format="json").status_code == 201


def test_with_the_cache_down_guesses_are_answered_401_not_500(guesser, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    for name in ("get", "add", "incr"):
        monkeypatch.setattr(cache, name, down)

    assert [guesser.get("/api/v1/declarations/").status_code for _ in range(5)] == [401] * 5
