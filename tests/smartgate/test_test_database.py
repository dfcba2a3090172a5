"""`make test` gives each run a test database of its own, so two runs never drop each other's."""

import os

from django.db import connection


def test_this_run_has_its_own_test_database(db):
    if connection.vendor != "postgresql":
        return  # SQLite's test database is in memory, per process
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # make test's processes: the run's (their parent's) database, with the worker's own suffix
        assert connection.settings_dict["NAME"].endswith(f"_{os.getppid()}_{worker}")
    else:
        assert connection.settings_dict["NAME"].endswith(f"_{os.getpid()}")
