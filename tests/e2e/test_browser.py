"""Officers' screens in a real browser: headless Chromium from Debian's packages, driven by Playwright,
against a live server. Screenshots go to test-artifacts/screenshots/ (kept by CI)."""

import os
import shutil

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from tests.conftest import REPO_ROOT
from tests.services import services_required

pytestmark = pytest.mark.e2e
# Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself are plain
# synchronous calls between page actions.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
PASSWORD = "browser-test-password"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if services_required():
            pytest.fail(f"Chromium is required for the browser tests but {CHROMIUM} is missing")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def gate(transactional_db, reference):
    call_command("setup_roles", verbosity=0)
    call_command("load_tariff", verbosity=0)


def officer(username: str, role: str | None):
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=True, is_superuser=role is None
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    yield page
    context.close()


def log_in(page, username: str) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
    # And its scripts run: #user-tools is there before the language switch's listener is attached (a switch
    # made in between submitted nothing, and the test waited for a navigation that never came).
    page.wait_for_load_state("load")


@pytest.mark.parametrize(
    ("username", "role", "sees", "does_not_see"),
    [
        ("customs1", "Customs officer", ["HS risk rules", "Declarations"], ["Watchlist entries", "Gate devices"]),
        ("guard1", "Border guard officer", ["Watchlist entries", "Declarations"], ["HS risk rules", "Tariffs"]),
        ("quarantine1", "Quarantine officer", ["Revoked quarantine certificates"], ["Watchlist entries", "Lanes"]),
        ("operator1", "Gate operator", ["Lanes", "Arrival slots", "Tariffs"], ["Watchlist entries", "HS risk rules"]),
        ("supervisor1", "Supervisor", ["Declarations", "Watchlist entries", "Lanes"], ["Gate devices"]),
    ],
)
def test_each_role_sees_only_its_screens(gate, page, username, role, sees, does_not_see):
    officer(username, role)

    log_in(page, username)

    sidebar = page.locator("#content-main").inner_text()
    for name in sees:
        assert name in sidebar, name
    for name in does_not_see:
        assert name not in sidebar, name
    page.screenshot(path=str(SCREENSHOTS / f"index-{username}.png"), full_page=True)


def test_quarantine_officer_records_an_inspection_and_the_declaration_moves_on(gate, page, company, declaration_body):
    from clearance.models import Declaration, Inspection, RiskSettings
    from tests.factories import client_for

    RiskSettings.current()
    RiskSettings.objects.update(random_rate_percent=0, random_rate_priority_percent=0, random_rate_floor_percent=0)
    body = declaration_body(quarantine_certificates=[])  # durian without a certificate → quarantine inspection
    response = client_for(company).post("/api/v1/declarations/", body, format="json")
    declaration = Declaration.objects.get(id=response.json()["id"])
    assert declaration.status == "inspection"
    inspection = Inspection.objects.get(declaration=declaration)
    officer("quarantine1", "Quarantine officer")

    log_in(page, "quarantine1")
    page.goto("/admin/clearance/inspection/")
    page.check(f"input[name=_selected_action][value='{inspection.id}']")
    page.select_option("select[name=action]", "record_pass")
    page.click("button[name=index]")
    page.fill("#id_reason", "Samples taken, certificate KD-2026-009999 issued on site")
    page.screenshot(path=str(SCREENSHOTS / "inspection-confirm.png"), full_page=True)
    with page.expect_navigation():
        page.click("input[type=submit][value=Confirm]")
    page.wait_for_selector(".messagelist")

    inspection.refresh_from_db()
    declaration.refresh_from_db()
    assert inspection.status == "passed"
    assert inspection.resolved_by.username == "quarantine1"
    assert declaration.status == "cleared"
    page.screenshot(path=str(SCREENSHOTS / "inspection-recorded.png"), full_page=True)


def test_gate_operator_closes_a_lane_and_the_board_shows_it(gate, page):
    from clearance.audit import Actor
    from clearance.services.lanes import lane_set_open
    from vehicles.models import Lane, Route

    officer("operator1", "Gate operator")
    route = Route.objects.get(code="1119-1120")

    log_in(page, "operator1")
    page.goto(f"/admin/board/{route.id}/")
    card = page.locator("[data-lane='1119-EX1']")
    assert "Open" in card.locator("[data-role=state]").inner_text()
    with page.expect_navigation():  # a page says what closing does and asks why
        card.locator("a[data-action=close]").click()
    assert "No vehicle is called to this lane" in page.locator("[data-role=effect]").inner_text()
    page.fill("#id_reason", "Barrier arm broken")
    with page.expect_navigation():  # the form posts and redirects back to the board
        page.locator("[data-role=confirm]").click()

    assert "Closed" in page.locator("[data-lane='1119-EX1'] [data-role=state]").inner_text()
    assert Lane.objects.get(code="1119-EX1").is_open is False
    # Another operator closes a second lane: the board shows it without a reload.
    lane_set_open(lane_id=Lane.objects.get(code="1119-IM1").id, is_open=False, actor=Actor.system("other desk"))
    from playwright.sync_api import expect

    # A locator assertion, not wait_for_function: the page's Content-Security-Policy forbids evaluating strings.
    expect(page.locator("[data-lane='1119-IM1'] [data-role=state]")).to_contain_text("Closed", timeout=15000)
    page.screenshot(path=str(SCREENSHOTS / "lane-board.png"), full_page=True)


def test_vietnamese_interface_renders(gate, page):
    officer("officer1", None)

    log_in(page, "officer1")
    with page.expect_navigation():  # the switch submits its form on change
        page.select_option("#language-switch select", "vi")
    page.wait_for_selector("html[lang=vi]")

    assert page.locator("html").get_attribute("lang") == "vi"
    text = page.locator("body").inner_text()
    assert "Tờ khai" in text or "tờ khai" in text
    page.screenshot(path=str(SCREENSHOTS / "index-vi.png"), full_page=True)


def test_dashboard_renders_with_figures(gate, page):
    officer("supervisor1", "Supervisor")

    log_in(page, "supervisor1")
    page.goto("/admin/dashboard/")

    assert page.locator("#waiting").inner_text() == "0"
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
