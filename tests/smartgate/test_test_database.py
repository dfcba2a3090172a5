"""`make test` gives each run a test database of its own, so two runs never drop each other's."""

import os

from django.db import connection


def test_this_run_has_its_own_test_database(db):
    if connection.vendor != "postgresql":
        return  # SQLite's test database is in memory, per process
    assert connection.settings_dict["NAME"].endswith(f"_{os.getpid()}")
