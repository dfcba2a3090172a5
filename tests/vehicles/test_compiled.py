"""vehicles.compiled: a query compiled once answers, call after call, what its queryset answers."""

from datetime import UTC, date, datetime, time

import pytest
from django.db import transaction
from django.db.models import Count, Prefetch
from django.db.transaction import TransactionManagementError

from vehicles.compiled import CompiledQuery
from vehicles.models import Lane, LaneWindow, Movement, RegistryFact, Yard


def lanes_of_route(route_code, direction):
    return (
        Lane.objects.filter(route__code=route_code, current_direction=direction)
        .select_related("route__gate")
        .annotate(windows_count=Count("windows"))
        .only("id", "code", "capacity_per_hour", "route__code", "route__gate__code")
        .order_by("code")
    )


LANES_OF_ROUTE = CompiledQuery(lanes_of_route, route_code=str, direction=str)


def fields_of(lane):
    return (
        lane.id,
        lane.code,
        lane.capacity_per_hour,
        lane.route.code,
        lane.route.gate.code,
        lane.windows_count,
        lane.get_deferred_fields(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route_code", "direction"), [("1119-1120", "export"), ("1088/2-1089", "import"), ("1119-1120", "import")]
)
def test_each_call_answers_what_its_queryset_answers(reference, route_code, direction):
    expected = [fields_of(lane) for lane in lanes_of_route(route_code, direction)]
    assert expected  # the reference data has lanes both ways on both routes

    answered = [fields_of(lane) for lane in LANES_OF_ROUTE.all(route_code=route_code, direction=direction)]

    assert answered == expected


@pytest.mark.django_db
def test_a_call_is_one_query_and_joins_are_populated(reference, django_assert_num_queries):
    LANES_OF_ROUTE.all(route_code="1119-1120", direction="export")  # compiled by an earlier call

    with django_assert_num_queries(1):
        lanes = LANES_OF_ROUTE.all(route_code="1119-1120", direction="export")
        names = {lane.route.gate.code for lane in lanes}  # select_related: no further query

    assert len(names) == 1
    assert LANES_OF_ROUTE.first(route_code="no-such-route", direction="export") is None


@pytest.mark.django_db
def test_values_go_through_the_fields_converters(reference):
    occurred = datetime(2027, 6, 15, 3, 4, 5, tzinfo=UTC)
    movement = Movement.objects.create(
        plate_read="29C-123.45",
        normalized_plate="29C12345",
        kind="yard_in",
        occurred_at=occurred,
        source="cam",
        yard=Yard.objects.first(),
    )
    fact = RegistryFact.objects.create(subject="vehicle", subject_id=7, changes={"plate": ["a", "b"]}, source="test")
    movements = CompiledQuery(lambda plate: Movement.objects.filter(normalized_plate=plate), plate=str)
    facts = CompiledQuery(lambda subject_id: RegistryFact.objects.filter(subject_id=subject_id), subject_id=int)

    (found,) = movements.all(plate="29C12345")
    (fact_found,) = facts.all(subject_id=7)

    assert found.id == movement.id and found.occurred_at == occurred
    assert fact_found.id == fact.id and fact_found.changes == {"plate": ["a", "b"]}


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_locking_query_needs_a_transaction(reference):
    locked = CompiledQuery(lambda code: Lane.objects.select_for_update().filter(code=code), code=str)

    with transaction.atomic():
        assert [lane.code for lane in locked.all(code="1119-EX1")] == ["1119-EX1"]
    with pytest.raises(TransactionManagementError):
        locked.all(code="1119-EX1")


@pytest.mark.postgresql
@pytest.mark.django_db
def test_what_cannot_be_compiled_is_refused_with_the_reason(reference):
    twice = CompiledQuery(lambda code: Lane.objects.filter(code=code) | Lane.objects.filter(route__code=code), code=str)
    lane = Lane.objects.get(code="1119-AV1")
    of_a_related_manager = CompiledQuery(lambda note: lane.windows.filter(note=note), note=str)

    with pytest.raises(ValueError, match="appears 2 times"):
        twice.all(code="1119-EX1")
    with pytest.raises(ValueError, match="related manager"):
        of_a_related_manager.all(note="night pilot")
    with pytest.raises(TypeError, match="only str, int, date and datetime"):
        CompiledQuery(lambda at: Lane.objects.all(), at=float)


@pytest.mark.django_db
def test_a_date_parameter_and_a_prefetch_answer_as_the_queryset(reference, django_assert_num_queries):
    lane = Lane.objects.get(code="1119-AV1")
    LaneWindow.objects.create(lane=lane, starts_at=time(6), ends_at=time(7), valid_from=date(2027, 1, 1))

    def windows_valid_on(code, day):
        return (
            Lane.objects.filter(code=code, windows__valid_from__lte=day)
            .distinct()
            .prefetch_related(Prefetch("windows", queryset=LaneWindow.objects.order_by("starts_at")))
        )

    valid_on = CompiledQuery(windows_valid_on, code=str, day=date)
    assert valid_on.all(code="1119-AV1", day=date(2026, 12, 31)) == []  # compiled here

    with django_assert_num_queries(2):  # the lane, then its windows
        (found,) = valid_on.all(code="1119-AV1", day=date(2027, 1, 1))
        starts = [window.starts_at for window in found.windows.all()]  # prefetched: no query

    assert starts == [window.starts_at for window in windows_valid_on("1119-AV1", date(2027, 1, 1))[0].windows.all()]
    assert time(6) in starts


@pytest.mark.django_db
def test_a_reverse_foreign_key_prefetched_for_one_row_is_held_as_djangos_prefetch_holds_it(
    reference, django_assert_num_queries
):
    lane, other = Lane.objects.get(code="1119-AV1"), Lane.objects.get(code="1119-EX1")
    for owner, hour in ((lane, 8), (lane, 6), (other, 7)):
        LaneWindow.objects.create(lane=owner, starts_at=time(hour), ends_at=time(hour, 30))
    with_windows = CompiledQuery(lambda code: Lane.objects.filter(code=code).prefetch_related("windows"), code=str)
    with_windows.all(code="1119-EX1")  # compiled here

    with django_assert_num_queries(2):  # the lane, then its windows
        (found,) = with_windows.all(code="1119-AV1")
        windows = list(found.windows.all())
        assert all(window.lane is found for window in windows)  # each window's lane is the one read

    expected = Lane.objects.prefetch_related("windows").get(code="1119-AV1").windows.all()
    assert [(window.pk, window.starts_at) for window in windows] == [(w.pk, w.starts_at) for w in expected]
    assert {time(6), time(8)} <= {window.starts_at for window in windows} and time(7) not in {
        window.starts_at for window in windows
    }
    # What it holds is still the lane's own related set: a filter on it reads only this lane's windows.
    filtered = found.windows.all().filter(starts_at__lte=time(8)).values_list("lane_id", "starts_at")
    assert sorted(filtered) == [(lane.id, time(6)), (lane.id, time(8))]


@pytest.mark.django_db
def test_constants_with_a_percent_sign_and_quotes_answer_as_the_queryset(reference):
    def lanes_like(route_code):
        # Django sends "1119-%" for startswith; the excluded code's quote must stay one character of a literal.
        return Lane.objects.filter(route__code=route_code, code__startswith="1119-").exclude(code="it's closed")

    like = CompiledQuery(lanes_like, route_code=str)

    assert sorted(lane.code for lane in like.all(route_code="1119-1120")) == sorted(
        lane.code for lane in lanes_like("1119-1120")
    )
    assert like.all(route_code="1088/2-1089") == []


@pytest.mark.postgresql
@pytest.mark.django_db
def test_a_plan_made_for_any_value_can_use_a_partial_index_on_the_querysets_constants(reference):
    """PostgreSQL plans a prepared statement once for every value (its generic plan) after a few calls. Were
    the excluded statuses and stages parameters, that plan could not use the partial index of active
    crossings (``declaration_one_active_per_vehicle``): the barrier's lookup would go through all the
    vehicle's past crossings, a number that grows with the history."""
    from django.db import connection

    from clearance.models import ACTIVE_DECLARATION, Declaration

    active_of_vehicle = CompiledQuery(
        lambda vehicle_id: Declaration.objects.filter(ACTIVE_DECLARATION, vehicle_id=vehicle_id).only("id").order_by(),
        vehicle_id=int,
    )
    with transaction.atomic():
        plan = active_of_vehicle._compile(connection)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            cursor.execute("SET LOCAL enable_seqscan = off")  # the test's tables are too small to want an index
            # The index of all the vehicle's crossings costs the same on tables this small, and the planner
            # took either; dropped (until the rollback below) so that the plan says whether the partial one can serve.
            every_crossing = next(
                name
                for name, constraint in connection.introspection.get_constraints(
                    cursor, "clearance_declaration"
                ).items()
                if constraint["index"] and not constraint["unique"] and constraint["columns"] == ["vehicle_id"]
            )
            cursor.execute(f'DROP INDEX "{every_crossing}"')
            cursor.execute("PREPARE active_of_vehicle(bigint) AS " + plan.sql.replace("%s", "$1"))
            cursor.execute("EXPLAIN EXECUTE active_of_vehicle(7)")
            explained = "\n".join(line for (line,) in cursor.fetchall())
            cursor.execute("DEALLOCATE active_of_vehicle")
        transaction.set_rollback(True)  # the dropped index comes back

    assert "declaration_one_active_per_vehicle" in explained, explained


@pytest.mark.django_db
def test_compiled_rows_answer_as_the_queryset_with_one_statement_whatever_the_lists_lengths(reference):
    from django.db import connection
    from django.db.models import F, Value
    from django.test.utils import CaptureQueriesContext

    from vehicles.compiled import CompiledRows

    def lanes_and_yards(lanes, yards):
        return (
            Lane.objects.filter(code__in=lanes, is_open=True)
            .annotate(what=Value("lane"), label=F("code"))
            .values_list("what", "label")
            .order_by()
            .union(
                Yard.objects.filter(code__in=yards)
                .annotate(what=Value("yard"), label=F("code"))
                .values_list("what", "label")
                .order_by(),
                all=True,
            )
        )

    compiled = CompiledRows(lanes_and_yards, lanes=list, yards=list)
    yard_codes = list(Yard.objects.values_list("code", flat=True)[:2])
    asked = [
        (["1119-EX1"], yard_codes[:1]),
        (["1119-EX1", "1119-IM1", "no-such-lane"], yard_codes),
        ([], []),
    ]
    with CaptureQueriesContext(connection) as queries:
        answers = [sorted(compiled.rows(lanes=lanes, yards=yards)) for lanes, yards in asked]

    assert answers == [sorted(lanes_and_yards(lanes, yards)) for lanes, yards in asked]
    assert answers[1] == sorted([("lane", "1119-EX1"), ("lane", "1119-IM1"), *(("yard", code) for code in yard_codes)])
    if connection.vendor == "postgresql":  # each list sent whole, as one array: one statement, kept prepared
        assert len(queries.captured_queries) == len(asked)
        assert all(query["sql"].count("= ANY(") == 2 for query in queries.captured_queries)
    with pytest.raises(TypeError, match="list parameters"):
        CompiledRows(lanes_and_yards, lanes=str, yards=list)
