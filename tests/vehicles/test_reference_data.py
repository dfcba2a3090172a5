import io

from django.core.management import call_command

from vehicles.models import BorderGate, Lane, Route, Yard


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in (BorderGate, Route, Lane, Yard)}


def test_reference_data_has_both_smart_routes_with_their_lanes(reference):
    routes = {route.code: route for route in Route.objects.select_related("gate", "counterpart_gate")}

    assert set(routes) >= {"1119-1120", "1088/2-1089"}
    for route in routes.values():
        assert route.is_smart_gate
        assert route.gate.code == "huu-nghi"
        assert route.counterpart_gate.name_zh == "友谊关"
        directions = {lane.current_direction for lane in route.lanes.all()}
        assert directions == {"export", "import"}
        assert route.lanes.filter(direction="reversible").exists()
        assert route.lanes.filter(has_inspection_bay=True).exists()
        assert route.yards.exists()
    assert Lane.objects.filter(route__code="1119-1120", purpose="autonomous").count() == 1


def test_gate_pairs_of_domain(reference):
    pairs = dict(
        BorderGate.objects.filter(country="VN", counterpart__isnull=False).values_list("code", "counterpart__code")
    )

    assert pairs["huu-nghi"] == "youyiguan"
    assert pairs["tan-thanh"] == "puzhai"
    assert pairs["coc-nam"] == "nongyao"
    assert pairs["chi-ma"] == "aidian"
    assert BorderGate.objects.filter(country="VN", kind="secondary").count() >= 5


def test_loading_twice_changes_nothing(reference):
    before = counts()
    out = io.StringIO()

    call_command("load_reference", stdout=out)

    assert counts() == before
    assert "created 0 gates, 0 routes, 0 lanes, 0 yards" in out.getvalue()


def test_loading_again_keeps_officers_edits(reference):
    Lane.objects.filter(code="1088-EX1").update(is_open=False, capacity_per_hour=5)

    call_command("load_reference", stdout=io.StringIO())

    edited = Lane.objects.get(code="1088-EX1")
    assert (edited.is_open, edited.capacity_per_hour) == (False, 5)
