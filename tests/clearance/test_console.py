"""The officers' console: each role's home with its work queue, the one-row actions behind their
confirmation, the live fragments, the dashboard's charts and the declaration on one page. Declarations are
put in each state through the services (the fixtures of test_officer_screens.py, imported rather than
copied: ruff reads a fixture used as an argument as a redefinition)."""
# ruff: noqa: F811

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clearance.models import (
    Declaration,
    EpidemicMode,
    HsRiskRule,
    Inspection,
    ServiceLevelObjective,
    WatchlistEntry,
)
from tests.clearance.test_officer_screens import (  # noqa: F401  (fixtures)
    DURIAN,
    arrive,
    base,
    company,
    held,
    login,
    officer,
    plate_of,
    quarantine_only,
    submit,
)
from tests.factories import DeclarationFactory
from vehicles.models import Direction, Route


def home(role_home: str = "") -> str:
    return reverse("admin:work-home", args=[role_home]) if role_home else reverse("admin:work")


def yellow(submit, n: int) -> Declaration:
    """Laptops on a risk rule that scores them into the yellow channel: a customs document review."""
    HsRiskRule.objects.get_or_create(hs_prefix="8471", defaults={"weight": 35, "description": "Laptops"})
    return submit(n, status="inspection")


def red(submit, n: int) -> Declaration:
    HsRiskRule.objects.get_or_create(hs_prefix="0810", defaults={"weight": 65, "description": "Durian"})
    return submit(n, goods=DURIAN, status="inspection")


def watchlisted(submit, n: int) -> Declaration:
    WatchlistEntry.objects.create(kind="vehicle", plate=plate_of(n), action="flag", reason="Seen with forged seals")
    return submit(n, status="inspection")


# --- Each role's home -------------------------------------------------------------------------------


def test_a_customs_officer_sees_inspections_and_yellow_reviews_with_plate_goods_reasons_and_waiting(
    client, login, submit
):
    review = yellow(submit, 0)
    arrive(review, minutes_ago=75)
    inspection = red(submit, 1)
    login("customs")

    response = client.get(home())

    assert response.status_code == 200
    html = response.content.decode()
    panels = {panel.key: panel for panel in response.context["panels"]}
    assert [row.plate for row in panels["customs-yellow"].rows] == [review.vehicle.plate]
    assert [row.plate for row in panels["customs-physical"].rows] == [inspection.vehicle.plate]
    assert panels["customs-yellow"].ageing["over_60"] == 1
    assert "1 h 15 min" in html
    assert "Goods on the HS risk list" in html  # the reason in plain words, its code on hover
    assert 'title="hs_risk:' in html
    assert "perishable" in html  # the durian
    assert "Công ty TNHH Vận tải Hữu Nghị" in html
    assert reverse("admin:work-action", args=[review.inspections.get().id, "pass"]) in html


def test_a_border_guard_sees_its_holds_and_the_watchlist_hits(client, login, submit):
    flagged = watchlisted(submit, 0)
    login("border_guard")

    response = client.get(home())

    panels = {panel.key: panel for panel in response.context["panels"]}
    assert [row.plate for row in panels["guard-holds"].rows] == [flagged.vehicle.plate]
    assert [row.plate for row in panels["guard-watchlist"].rows] == [flagged.vehicle.plate]
    assert "Vehicle on the watchlist" in response.content.decode()


def test_a_quarantine_officer_sees_its_inspections_and_todays_certificates(client, login, quarantine_only, submit):
    missing = quarantine_only(0)
    login("quarantine")

    response = client.get(home())

    panels = {panel.key: panel for panel in response.context["panels"]}
    assert [row.plate for row in panels["quarantine-inspections"].rows] == [missing.vehicle.plate]
    assert "No quarantine certificate" in response.content.decode()


def test_a_health_officer_sees_the_drivers_to_screen(client, login, submit):
    EpidemicMode.objects.create(
        reason="Quyết định 12/QĐ-UBND", valid_from=timezone.now() - timedelta(hours=1), fever_threshold_c="37.5"
    )
    feverish = {"temperature_c": "38.4", "symptoms": True, "close_contact": False}
    flagged = submit(0, health_declaration=feverish, status="inspection")
    login("health")

    response = client.get(home())

    panels = {panel.key: panel for panel in response.context["panels"]}
    assert [row.plate for row in panels["health-screenings"].rows] == [flagged.vehicle.plate]
    assert client.get(home("customs")).status_code == 403


def test_a_supervisor_sees_the_days_objectives_and_the_offline_conflicts_to_review(client, login):
    call_command("load_slos", stdout=io.StringIO())
    login("supervisor")

    response = client.get(home())

    assert [slo["name"] for slo in response.context["slos"]] == list(
        ServiceLevelObjective.objects.filter(is_active=True).order_by("id").values_list("name", flat=True)
    )
    assert response.context["offline_conflicts"] == 0
    assert "offline barrier decisions conflict with the record" in response.content.decode()


def test_a_gate_operator_sees_lanes_yards_and_the_vehicles_called_with_those_overdue(client, login):
    DeclarationFactory(n=0, stage=Declaration.Stage.IN_YARD)
    with time_machine.travel(timezone.now() - timedelta(minutes=40), tick=True):  # called 40 minutes ago
        late = DeclarationFactory(n=1, stage=Declaration.Stage.CALLED, lane="1119-EX1")
    login("gate")

    response = client.get(home())

    panels = {panel.key: panel for panel in response.context["panels"]}
    lanes = {row["lane"].code: row for row in panels["gate-lanes"].table}
    assert lanes["1119-EX1"]["vehicles_called"] == 1
    yards = {row["yard"].code: row for row in panels["gate-yards"].table}
    assert yards["1119-export-yard"]["waiting"] == 1
    assert [row.plate for row in panels["gate-called"].rows] == [late.vehicle.plate]
    assert "1 overdue" in response.content.decode()
    assert "Called, not at the lane in time" in response.content.decode()


def test_a_supervisor_sees_the_held_crossings_with_release_and_reject(client, login, held):
    declaration = held(0)
    login("supervisor")

    response = client.get(home())

    panels = {panel.key: panel for panel in response.context["panels"]}
    assert [row.plate for row in panels["supervisor-held"].rows] == [declaration.vehicle.plate]
    html = response.content.decode()
    assert "Live pests found" in html
    assert reverse("admin:work-action", args=[declaration.id, "release"]) in html
    # A supervisor may open every force's home too.
    for other in ("customs", "border_guard", "quarantine", "gate"):
        assert client.get(home(other)).status_code == 200


@pytest.mark.parametrize(
    ("role", "own", "others"),
    [
        ("customs", "customs", ["border_guard", "quarantine", "gate", "supervisor"]),
        ("border_guard", "border_guard", ["customs", "quarantine", "gate", "supervisor"]),
        ("quarantine", "quarantine", ["customs", "border_guard", "gate", "supervisor"]),
        ("gate", "gate", ["customs", "border_guard", "quarantine", "supervisor"]),
    ],
)
def test_each_role_opens_only_its_own_home(client, login, role, own, others):
    login(role)

    assert client.get(home(own)).status_code == 200
    assert client.get(reverse("admin:work-home-live", args=[own])).status_code == 200
    for other in others:
        assert client.get(home(other)).status_code == 403, other
        assert client.get(reverse("admin:work-home-live", args=[other])).status_code == 403, other


def test_a_fee_administrator_has_no_queue_and_lands_on_the_index(client, login):
    login("fees")

    response = client.get(home())

    assert response.status_code == 302 and response.url == reverse("admin:index")


def test_the_homes_need_a_staff_login(client, db):
    response = client.get(home())

    assert response.status_code == 302 and "/login/" in response.url


# --- One-row actions, behind their confirmation -------------------------------------------------------


def test_a_quarantine_officer_passes_an_inspection_from_the_home_after_confirming_with_a_reason(
    client, login, quarantine_only
):
    declaration = quarantine_only(0)
    inspection = declaration.inspections.get()
    login("quarantine")
    url = reverse("admin:work-action", args=[inspection.id, "pass"])

    page = client.get(url)
    assert "is cleared once no other inspection is open" in page.content.decode()
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 200 and "Give the reason" in refused.content.decode()
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.OPEN

    done = client.post(url, {"reason": "Certificate KD-2026-009999 issued on site", "back": home()})

    assert done.status_code == 302 and done.url == home()
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.CLEARED
    event = declaration.events.order_by("-seq").first()
    assert event.actor == "quarantine-officer"


@pytest.mark.parametrize("role", ["customs", "border_guard", "gate"])
def test_another_force_cannot_record_a_quarantine_inspection_from_a_home(client, login, quarantine_only, role):
    inspection = quarantine_only(0).inspections.get()
    login(role)
    url = reverse("admin:work-action", args=[inspection.id, "pass"])

    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "Looks fine to me"}).status_code == 403
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.OPEN


@pytest.mark.parametrize("role", ["customs", "border_guard", "quarantine", "gate"])
def test_only_a_supervisor_releases_or_rejects_from_a_home(client, login, held, role):
    declaration = held(0)
    login(role)

    for action in ("release", "reject"):
        url = reverse("admin:work-action", args=[declaration.id, action])
        assert client.post(url, {"reason": "Let it go"}).status_code == 403
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.HELD


def test_a_supervisor_rejects_a_held_crossing_from_the_home(client, login, held):
    declaration = held(0)
    login("supervisor")

    response = client.post(
        reverse("admin:work-action", args=[declaration.id, "reject"]), {"reason": "Pests confirmed by lab"}
    )

    assert response.status_code == 302
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.REJECTED
    assert declaration.events.order_by("-seq").first().reason == "Pests confirmed by lab"


def test_an_unknown_row_action_is_refused(client, login, held):
    declaration = held(0)
    login("supervisor")

    assert client.get(reverse("admin:work-action", args=[declaration.id, "delete"])).status_code == 403


# --- Live fragments --------------------------------------------------------------------------------


def test_live_fragments_say_what_they_are_when_they_were_made_and_their_counts(client, login):
    login("supervisor")
    route = Route.objects.get(code="1119-1120")

    for url in (
        reverse("admin:lane-board-live", args=[route.id]),
        reverse("admin:dashboard-live"),
        reverse("admin:work-home-live", args=["gate"]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["X-Console-Fragment"] == "1"
        assert response["X-Updated-At"].count(":") == 2
        assert response["X-Live-Summary"]
        html = response.content.decode()
        assert "data-live-region" in html and "<html" not in html, url


def test_a_logged_out_fragment_is_the_login_page_which_the_board_recognises(client, db):
    route = Route.objects.get(code="1119-1120")

    response = client.get(reverse("admin:lane-board-live", args=[route.id]), follow=True)

    assert "X-Console-Fragment" not in response
    assert "id_username" in response.content.decode()


def test_the_pages_carry_the_live_status_the_stale_and_logged_out_banners(client, login):
    login("supervisor")
    route = Route.objects.get(code="1119-1120")

    for url in (reverse("admin:lane-board", args=[route.id]), reverse("admin:dashboard"), home()):
        html = client.get(url).content.decode()
        for marker in ("data-live-stamp", "data-live-stale", "data-live-logged-out", 'aria-live="polite"', "live.js"):
            assert marker in html, (url, marker)


# --- Constant queries -------------------------------------------------------------------------------


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(context.captured_queries)


def test_each_home_runs_the_same_number_of_queries_for_one_row_or_many(client, login, submit, quarantine_only, held):
    def work(start: int, stop: int) -> None:
        for n in range(start, stop):
            kind = n % 4
            if kind == 0:
                arrive(quarantine_only(n), minutes_ago=30 + n)
            elif kind == 1:
                held(n)
            elif kind == 2:
                watchlisted(submit, n)
            else:
                arrive(submit(n), minutes_ago=10 + n)

    work(0, 4)
    login("supervisor")
    pages = [home(name) for name in ("supervisor", "customs", "border_guard", "quarantine", "gate")]
    pages.append(reverse("admin:dashboard"))
    for url in pages:
        client.get(url)  # warm the per-process caches
    small = {url: count_queries(client, url) for url in pages}

    work(4, 24)
    large = {url: count_queries(client, url) for url in pages}

    assert large == small


# --- Dashboard ----------------------------------------------------------------------------------------


def test_the_dashboard_shows_every_route_and_direction_even_at_zero_and_its_charts(client, login):
    call_command("load_tariff", verbosity=0)
    DeclarationFactory(n=0, stage=Declaration.Stage.CROSSED)
    login("supervisor")

    response = client.get(reverse("admin:dashboard"))

    html = response.content.decode()
    routes = {(bar["route"], str(bar["direction"])) for bar in response.context["bars"]}
    export, import_ = str(Direction.EXPORT.label), str(Direction.IMPORT.label)
    assert routes == {("1088/2-1089", export), ("1088/2-1089", import_), ("1119-1120", export), ("1119-1120", import_)}
    quiet = [bar for bar in response.context["bars"] if bar["route"] == "1088/2-1089"]
    assert all(bar["today"] == 0 and bar["week"] == 0 for bar in quiet)
    assert 'id="chart-throughput"' in html and 'id="chart-backlog"' in html
    assert sum(bar["value"] for bar in response.context["throughput"]["bars"]) == 1
    assert 'id="route-legend"' in html


def test_fees_read_as_dong_in_vietnamese(client, login):
    from django.utils import translation

    from clearance.templatetags.console import vnd

    with translation.override("vi"):
        assert vnd(1000000) == "1.000.000\u00a0₫"
    with translation.override("en"):
        assert vnd(1000000) == "1,000,000\u00a0VND"
    assert vnd(None) == "—"


# --- The declaration on one page -----------------------------------------------------------------------


def sheet_of(client, declaration: Declaration):
    response = client.get(reverse("admin:clearance_declaration_change", args=[declaration.id]))
    assert response.status_code == 200
    return response, response.content.decode()


def test_the_declaration_page_reads_in_ten_seconds(client, login, quarantine_only):
    declaration = quarantine_only(0)
    arrive(declaration, minutes_ago=50)
    login("quarantine")

    response, html = sheet_of(client, declaration)

    steps = {str(step["step"]): step for step in response.context["sheet"]["timeline"]}
    assert steps["in_yard"]["at"] is not None and steps["in_yard"]["dwell_minutes"] >= 49
    assert steps["crossed"]["at"] is None
    for shown in (
        "Timeline",
        "Arrived in yard",
        "No quarantine certificate",
        "Fresh durian",
        "Audit trail",
        "perishable",
    ):
        assert shown in html, shown
    assert 'title="certificate_missing: Goods of HS chapters 01–24 need a quarantine certificate."' in html
    assert '<span title="checks_started">Checks started</span>' in html  # the event in words, its code on hover
    assert html.index("Timeline") < html.index("Every recorded field")  # the raw fields come last


@pytest.mark.parametrize(
    ("role", "offered", "not_offered"),
    [
        ("quarantine", {"inspection-pass", "inspection-fail"}, {"call_forward", "turn_back", "release_held"}),
        ("customs", set(), {"inspection-pass", "call_forward", "turn_back", "release_held"}),
        ("gate", {"call_forward", "turn_back"}, {"inspection-pass", "release_held", "reject_held"}),
        ("supervisor", {"call_forward", "turn_back", "inspection-pass"}, {"release_held", "reject_held"}),
    ],
)
def test_the_declaration_page_offers_only_the_actions_of_its_state_and_the_officers_role(
    client, login, quarantine_only, role, offered, not_offered
):
    declaration = quarantine_only(0)
    arrive(declaration, minutes_ago=5)
    login(role)

    response, _html = sheet_of(client, declaration)

    names = {action["name"] for action in response.context["sheet_actions"]}
    assert offered <= names and not names & not_offered, names


def test_a_held_declaration_offers_release_and_reject_and_the_action_goes_through_its_confirmation(client, login, held):
    declaration = held(0)
    login("supervisor")

    response, html = sheet_of(client, declaration)
    names = {action["name"] for action in response.context["sheet_actions"]}
    assert {"release_held", "reject_held"} <= names and "call_forward" not in names

    confirm = client.post(
        reverse("admin:clearance_declaration_changelist"),
        {"action": "release_held", "_selected_action": declaration.id},
    )
    assert confirm.status_code == 200 and 'name="reason"' in confirm.content.decode()
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.HELD


def test_the_fee_reads_in_dong_on_the_vietnamese_declaration_page(client, login):
    call_command("load_tariff", verbosity=0)
    declaration = DeclarationFactory(n=0, stage=Declaration.Stage.IN_YARD)
    login("gate")
    client.cookies["django_language"] = "vi"

    _response, html = sheet_of(client, declaration)

    amount = declaration.fee.amount_vnd
    assert f"{amount:,}".replace(",", ".") + "\u00a0₫" in html
