"""django-axes: repeated failed admin logins lock that username from that address for a while."""

import pytest
from django.contrib.auth import get_user_model

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def officer(db):
    return get_user_model().objects.create_user(username="customs-7", password="right-password-42", is_staff=True)


def log_in(client, password: str, address: str = "198.51.100.7"):
    return client.post(LOGIN, {"username": "customs-7", "password": password}, REMOTE_ADDR=address)


def test_the_right_password_logs_in(client, officer):
    response = log_in(client, "right-password-42")

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_after_the_failure_limit_even_the_right_password_is_refused(client, officer, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert log_in(client, "guess").status_code == 200  # the form again, with its error

    locked = log_in(client, "guess")
    again = log_in(client, "right-password-42")

    assert locked.status_code == 429
    assert again.status_code == 429
    assert b"Login locked" in again.content
    assert client.get("/admin/").status_code == 302  # still not logged in


def test_a_lockout_is_per_address(client, officer, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        log_in(client, "guess")

    assert log_in(client, "right-password-42", address="203.0.113.50").status_code == 302
