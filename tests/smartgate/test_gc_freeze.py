"""A server process moves its long-lived objects out of the garbage collector's walk after its first request
(smartgate/gc_freeze.py): a full collection over all of them was a list page's p99."""

import gc
import importlib

import pytest
from django.core.signals import request_finished

from smartgate import gc_freeze


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process goes on collecting as before


def test_objects_are_frozen_after_the_first_request_and_again_after_the_hundredth(unfrozen):
    freezer = gc_freeze.Freezer()
    freezer()
    first = gc.get_freeze_count()
    kept = [[n] for n in range(1_000)]  # tracked containers made after the first freeze, alive at the 100th
    between = []
    for _ in range(98):
        freezer()
        between.append(gc.get_freeze_count())
    freezer()  # the 100th

    assert first > 10_000  # Django, the apps and the test run's own objects
    assert max(between) <= first  # none frozen between (a frozen object may still be freed)
    assert gc.get_freeze_count() >= max(between) + len(kept)


def test_the_served_application_counts_its_requests(client, db, unfrozen):
    from smartgate import wsgi

    importlib.reload(wsgi)  # the server's entry point connects the freezer (again, whatever ran before)

    served = gc_freeze.after_request.served
    try:
        client.get("/healthz/live")
        client.get("/healthz/live")
    finally:  # the rest of the test run keeps its collector as it was
        request_finished.disconnect(dispatch_uid="smartgate.gc_freeze")

    assert gc_freeze.after_request.served == served + 2
