"""Each role's shift in a real browser (Debian's Chromium, Playwright), at 1440 px and on a 768 px tablet, in
Vietnamese: the home shows the work, an action goes through its confirmation, the screens update without a
reload, and axe-core finds no serious or critical accessibility violation on the main screens.

axe-core is vendored in tests/e2e/assets (MPL-2.0, its licence beside it): no network on a clean clone."""
# ruff: noqa: F811  (fixtures imported from test_browser.py are arguments here)

import json
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clearance.audit import Actor
from clearance.models import Declaration, DeclarationEvent, HsRiskRule, RiskSettings, WatchlistEntry
from clearance.services.inspections import inspection_record_result
from clearance.services.lanes import lane_set_open
from clearance.services.yard import yard_arrival_record
from tests.e2e.test_browser import PASSWORD, browser, gate, officer  # noqa: F401
from tests.factories import DURIAN, DeclarationFactory, notice_has_run, truck_plate
from vehicles.models import Lane, Route, Yard

pytestmark = pytest.mark.e2e

AXE = Path(__file__).parent / "assets" / "axe-core-4.14.1" / "axe.min.js"
SHOTS = Path("/tmp/console-shots")
WIDTHS = {"desktop": 1440, "tablet": 768}
# Strings of the console that must not be left in English on a Vietnamese screen.
ENGLISH = ["Next action", "Waiting", "Nothing to do here", "Last updated", "Record result", "My work", "Why"]


@pytest.fixture
def open_page(browser, live_server):
    """A page at a width, in Vietnamese (the language cookie set, as the switch sets it)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    contexts = []

    def make(width: int, *, csp: bool = True):
        context = browser.new_context(
            base_url=live_server.url,
            locale="vi-VN",
            viewport={"width": width, "height": 1000},
            bypass_csp=not csp,  # axe is injected as a script the page's policy would refuse
        )
        context.add_cookies([{"name": "django_language", "value": "vi", "url": live_server.url}])
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def log_in(page, username: str) -> None:
    page.goto("/admin/login/?next=/admin/work/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("[data-live-region]")


@pytest.fixture
def no_random_selection(gate):
    RiskSettings.current()
    RiskSettings.objects.update(random_rate_percent=0, random_rate_priority_percent=0, random_rate_floor_percent=0)


def yellow_truck(n: int) -> Declaration:
    HsRiskRule.objects.get_or_create(hs_prefix="8471", defaults={"weight": 35, "description": "Laptops"})
    return DeclarationFactory(n=n, stage=Declaration.Status.INSPECTION)


def durian_without_certificate(n: int) -> Declaration:
    return DeclarationFactory(n=n, goods=DURIAN, stage=Declaration.Status.INSPECTION)


def watchlisted_truck(n: int) -> Declaration:
    WatchlistEntry.objects.create(kind="vehicle", plate=truck_plate(n), action="flag", reason="Forged seals seen")
    return DeclarationFactory(n=n, stage=Declaration.Status.INSPECTION)


def arrive_now(declaration: Declaration) -> None:
    camera = Actor(kind=DeclarationEvent.ActorKind.DEVICE, name="camera-1119-export-yard")
    yard_arrival_record(
        plate_read=declaration.vehicle.plate,
        yard=Yard.objects.get(code="1119-export-yard"),
        occurred_at=timezone.now(),
        source=camera.name,
        actor=camera,
    )
    declaration.refresh_from_db()


def called_by_the_dispatcher(n: int) -> Declaration:
    """A truck declared in time reaches the yard and the dispatcher (after the arrival's commit, as in the
    live gate) calls it to a lane at once."""
    declaration = DeclarationFactory(n=n)
    notice_has_run()
    arrive_now(declaration)
    assert declaration.stage == Declaration.Stage.CALLED, declaration.stage
    return declaration


def waiting_in_the_yard(n: int) -> Declaration:
    """A truck that stays in the yard (the dispatcher calls a cleared one at once): a yellow-channel truck,
    with the route's export inspection bay closed, so no lane may take it. The reversible lane (07:00–22:00,
    exports) is closed too, so that a vehicle sent back to the queue stays there at any hour the test runs."""
    for code in ("1119-EX2", "1119-REV1"):
        lane_set_open(lane_id=Lane.objects.get(code=code).id, is_open=False, actor=Actor.system("closed for the test"))
    HsRiskRule.objects.get_or_create(hs_prefix="8471", defaults={"weight": 35, "description": "Laptops"})
    declaration = DeclarationFactory(n=n, stage=Declaration.Stage.IN_YARD, status=Declaration.Status.INSPECTION)
    HsRiskRule.objects.filter(hs_prefix="8471").delete()  # the trucks after it are green again
    return declaration


def held_truck(n: int) -> Declaration:
    declaration = durian_without_certificate(n)
    inspection_record_result(
        inspection_id=declaration.inspections.get().id,
        user=officer(f"quarantine-{n}", "Quarantine officer"),
        passed=False,
        notes="Live pests found",
    )
    return declaration


# role, login, the work to make, the action's data-action, what the confirmation must say, the status after
SHIFTS = {
    "customs": ("Customs officer", yellow_truck, "pass", "đạt", Declaration.Status.CLEARED),
    "border_guard": ("Border guard officer", watchlisted_truck, "pass", "đạt", Declaration.Status.CLEARED),
    "quarantine": ("Quarantine officer", durian_without_certificate, "fail", "không đạt", Declaration.Status.HELD),
    "supervisor": ("Supervisor", held_truck, "reject", "từ chối", Declaration.Status.REJECTED),
}


def assert_vietnamese(page) -> None:
    assert page.locator("html").get_attribute("lang") == "vi"
    text = page.locator("#content").inner_text()
    for english in ENGLISH:
        assert english not in text, english


def assert_fits(page, width: int) -> None:
    """Nothing pushes the page sideways: wide tables scroll inside their own box."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, f"page is {scroll_width} px wide at {width} px"


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("role", SHIFTS.keys())
def test_a_shift_from_the_home_queue_through_a_confirmed_action(gate, no_random_selection, open_page, role, width):
    group, make_work, action, confirmation_word, status_after = SHIFTS[role]
    username = f"{role}-{width}"
    officer(username, group)
    declaration = make_work(0)
    page = open_page(width, csp=False)  # the page's policy stays on elsewhere; here evaluate() measures the width

    log_in(page, username)

    row = page.locator(f"tr[data-plate='{declaration.vehicle.plate}']").first
    expect(row).to_be_visible()
    assert declaration.company.name in row.inner_text()
    assert_vietnamese(page)
    assert_fits(page, width)
    page.screenshot(path=str(SHOTS / f"home-{role}-{width}.png"), full_page=True)

    # New work reaches the open home without a reload.
    newcomer = make_work(1)
    expect(page.locator(f"tr[data-plate='{newcomer.vehicle.plate}']").first).to_be_visible(timeout=20000)

    # The action, by keyboard: focus the link and press Enter, then the confirmation with its reason.
    link = page.locator(f"tr[data-plate='{declaration.vehicle.plate}'] [data-action={action}]").first
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert confirmation_word in page.locator("[data-role=effect]").inner_text().lower()
    assert_fits(page, width)
    page.screenshot(path=str(SHOTS / f"confirm-{role}-{width}.png"), full_page=True)
    page.fill("#id_reason", "Kiểm tra tại bãi, đối chiếu hồ sơ")
    with page.expect_navigation():
        page.locator("[data-role=confirm]").click()

    expect(page.locator(".messagelist")).to_be_visible()
    declaration.refresh_from_db()
    assert declaration.status == status_after
    # Its work is done: no row of this truck offers the action any more.
    expect(page.locator(f"tr[data-plate='{declaration.vehicle.plate}'] [data-action={action}]")).to_have_count(0)


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_a_gate_operators_shift_home_board_and_a_lane_closed_through_its_confirmation(
    gate, no_random_selection, open_page, width
):
    username = f"operator-{width}"
    officer(username, "Gate operator")
    waiting = waiting_in_the_yard(0)
    called = called_by_the_dispatcher(1)
    lane = called.lane.code
    page = open_page(width, csp=False)

    log_in(page, username)

    assert page.locator("[data-yard='1119-export-yard'] td").first.inner_text() == "1"  # waiting
    expect(page.locator(f"tr[data-plate='{called.vehicle.plate}']")).to_be_visible()
    assert_vietnamese(page)
    assert_fits(page, width)
    page.screenshot(path=str(SHOTS / f"home-gate-{width}.png"), full_page=True)

    route = Route.objects.get(code="1119-1120")
    page.goto(f"/admin/board/{route.id}/")
    expect(page.locator(f"#queue >> text={waiting.vehicle.plate}")).to_be_visible()
    card = page.locator(f"[data-lane='{lane}']")
    card.locator("a[data-action=close]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "1" in page.locator("[data-role=effect]").inner_text()  # "1 xe đã được gọi vào làn này sẽ trở lại…"
    page.fill("#id_reason", "Barie hỏng")
    with page.expect_navigation():
        page.locator("[data-role=confirm]").click()
    expect(page.locator(f"[data-lane='{lane}'] [data-role=state]")).to_have_text("Đóng")
    called.refresh_from_db()
    assert called.stage == Declaration.Stage.IN_YARD  # recalled to the queue

    # Another desk closes a second lane: the board shows it, with its new time, without a reload.
    before = page.locator("[data-live-stamp]").inner_text()
    lane_set_open(lane_id=Lane.objects.get(code="1119-IM1").id, is_open=False, actor=Actor.system("other desk"))
    expect(page.locator("[data-lane='1119-IM1'] [data-role=state]")).to_have_text("Đóng", timeout=15000)
    expect(page.locator("[data-lane='1119-IM1'] a[data-action=open]")).to_be_visible()  # no "close" beside "closed"
    assert page.locator("[data-live-stamp]").inner_text() != before
    assert_vietnamese(page)
    assert_fits(page, width)
    page.screenshot(path=str(SHOTS / f"board-{width}.png"), full_page=True)


def test_a_board_says_when_its_updates_stop_and_when_the_session_has_ended(gate, open_page):
    officer("operator-live", "Gate operator")
    route = Route.objects.get(code="1119-1120")
    page = open_page(1440)
    log_in(page, "operator-live")
    page.goto(f"/admin/board/{route.id}/")
    expect(page.locator("[data-live-stale]")).to_be_hidden()

    # The network drops the board's requests: after three missed updates a banner says so.
    page.route("**/live/", lambda request: request.abort())
    expect(page.locator("[data-live-stale]")).to_be_visible(timeout=30000)
    page.screenshot(path=str(SHOTS / "board-stale.png"), full_page=True)
    page.unroute("**/live/")
    expect(page.locator("[data-live-stale]")).to_be_hidden(timeout=15000)

    # The session ends (logged out in another tab): the board says it no longer updates.
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "django_language", "value": "vi", "url": page.url}])
    expect(page.locator("[data-live-logged-out]")).to_be_visible(timeout=15000)
    assert "đăng xuất" in page.locator("[data-live-logged-out]").inner_text()
    page.screenshot(path=str(SHOTS / "board-logged-out.png"), full_page=True)


def test_the_dashboard_updates_itself_and_shows_its_charts(gate, open_page):
    officer("supervisor-dash", "Supervisor")
    page = open_page(1440)
    log_in(page, "supervisor-dash")
    page.goto("/admin/dashboard/")
    expect(page.locator("#waiting")).to_have_text("0")
    assert page.locator("#chart-throughput svg").count() == 1 and page.locator("#chart-backlog svg").count() == 1

    waiting_in_the_yard(0)

    expect(page.locator("#waiting")).to_have_text("1", timeout=30000)
    assert_vietnamese(page)
    page.screenshot(path=str(SHOTS / "dashboard-1440.png"), full_page=True)


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_the_main_screens_have_no_serious_or_critical_accessibility_violation(
    gate, no_random_selection, open_page, width
):
    officer("supervisor-axe", "Supervisor")
    held = held_truck(0)
    yellow_truck(1)
    route = Route.objects.get(code="1119-1120")
    page = open_page(width, csp=False)
    log_in(page, "supervisor-axe")

    screens = [
        "/admin/work/supervisor/",
        "/admin/work/customs/",
        "/admin/work/gate/",
        f"/admin/board/{route.id}/",
        "/admin/dashboard/",
        f"/admin/clearance/declaration/{held.id}/change/",
        f"/admin/work/item/{held.id}/release/",
        f"/admin/board/lane/{Lane.objects.get(code='1119-EX1').id}/close/",
    ]
    found = {}
    for url in screens:
        page.goto(url)
        violations = axe_violations(page)
        if violations:
            found[url] = violations
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)
