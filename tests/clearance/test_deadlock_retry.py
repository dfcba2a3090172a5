"""A submission that PostgreSQL ends to break a deadlock is tried again, and then goes in."""

import threading

import pytest
from django.db import connection, transaction

from clearance.services.declarations import _once_more_after_a_deadlock
from vehicles.models import Lane


@pytest.mark.django_db(transaction=True)
def test_the_transaction_ended_by_a_deadlock_runs_again_and_both_go_in(reference):
    if connection.vendor != "postgresql":
        pytest.skip("deadlocks are PostgreSQL's to detect")
    first, second = Lane.objects.order_by("id").values_list("id", flat=True)[:2]
    both_hold_one = threading.Barrier(2)
    attempts = {11: 0, 12: 0}
    errors = []

    def lock_in_turn(name, ids):
        def write():
            attempts[name] += 1
            list(Lane.objects.select_for_update(of=("self",)).filter(id=ids[0]))
            if attempts[name] == 1:
                both_hold_one.wait(timeout=10)  # each holds the row the other takes next: a deadlock
            Lane.objects.filter(id=ids[1]).update(capacity_per_hour=name)

        try:
            with transaction.atomic():  # the caller's transaction (the idempotency record's, say)
                _once_more_after_a_deadlock(write)
        except Exception as error:  # pragma: no cover - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=lock_in_turn, args=(11, (first, second))),
        threading.Thread(target=lock_in_turn, args=(12, (second, first))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    # PostgreSQL ended one; the other went in at its first try, and the one ended at a later one
    assert min(attempts.values()) == 1 and max(attempts.values()) >= 2
    # each wrote the row it took second
    assert dict(Lane.objects.filter(id__in=[first, second]).values_list("id", "capacity_per_hour")) == {
        second: 11,
        first: 12,
    }


@pytest.mark.django_db
def test_other_database_errors_are_not_retried():
    attempts = []

    def write():
        attempts.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM no_such_table")

    with pytest.raises(Exception):  # noqa: B017 - the database's own error, whatever its class
        _once_more_after_a_deadlock(write)
    assert len(attempts) == 1
