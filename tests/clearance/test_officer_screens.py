"""The officers' screens in the admin, as each role uses them: what they see, the actions they may run
(each behind a confirmation with a reason, each audited), the lane board, the dashboard, the Vietnamese
interface and the demo. Declarations are put in each state through the services."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clearance import roles
from clearance.audit import Actor
from clearance.models import (
    Company,
    Declaration,
    DeclarationEvent,
    HsRiskRule,
    LaneEvent,
    RevokedCertificate,
    RiskSettings,
    WatchlistEntry,
)
from clearance.services.companies import company_create
from clearance.services.declarations import declaration_submit
from clearance.services.inspections import inspection_record_result
from clearance.services.yard import declaration_turn_back, yard_arrival_record
from tests.factories import DeclarationFactory
from vehicles.models import Direction, Lane, Route, Yard
from vehicles.plates import parse_plate

SUBMITTER = Actor.system("test-forwarder")
CAMERA = Actor(kind="device", name="camera-1119-export-yard")
ROUTE = "1119-1120"
EXPORT_YARD = "1119-export-yard"

ROLE_NAMES = {
    "customs": roles.CUSTOMS_OFFICER,
    "border_guard": roles.BORDER_GUARD_OFFICER,
    "quarantine": roles.QUARANTINE_OFFICER,
    "health": roles.HEALTH_OFFICER,
    "gate": roles.GATE_OPERATOR,
    "supervisor": roles.SUPERVISOR,
    "fees": roles.FEE_ADMINISTRATOR,
}


def laptops(lines: int = 1) -> list[dict]:
    return [
        {
            "hs_code": "84713020",
            "description": f"Laptops {i}",
            "quantity": Decimal(500),
            "unit": "PCE",
            "gross_weight_kg": Decimal(200),
            "value": Decimal("15000.00"),
            "currency": "USD",
            "origin_country": "VN",
        }
        for i in range(lines)
    ]


PHONES = [
    {
        "hs_code": "85171300",
        "description": "Smartphones",
        "quantity": Decimal(2000),
        "unit": "PCE",
        "gross_weight_kg": Decimal(1500),
        "value": Decimal("400000.00"),
        "currency": "USD",
        "origin_country": "VN",
    }
]
DURIAN = [
    {
        "hs_code": "08106000",
        "description": "Fresh durian",
        "quantity": Decimal(18000),
        "unit": "KGM",
        "gross_weight_kg": Decimal(18000),
        "value": Decimal("45000.00"),
        "currency": "USD",
        "origin_country": "VN",
    }
]


def plate_of(n: int) -> str:
    number = 40000 + n
    return f"12C-{number // 100:03d}.{number % 100:02d}"


def declaration_data(
    n: int, *, goods=None, certificates=(), containers=(), customs_numbers: int = 1, health_declaration=None
) -> dict:
    """The validated input of the n-th truck: its own plate, driver and customs numbers."""
    number = 40000 + n
    arrival = timezone.now() + timedelta(hours=24)
    return {
        "direction": "export",
        "route": Route.objects.select_related("gate").get(code=ROUTE),
        "expected_arrival": arrival,
        "customs_declarations": [{"number": f"309{number:06d}{k:03d}", "type": "B11"} for k in range(customs_numbers)],
        "vehicle": {
            "plate": parse_plate(plate_of(n), country="VN"),
            "max_gross_weight_kg": 40000,
            "permit_number": f"VN-CN-2026-{number}",
            "permit_expires": arrival.date() + timedelta(days=200),
        },
        "driver": {
            "full_name": "Nguyễn Văn An",
            "nationality": "VN",
            "document_type": "passport",
            "document_number": f"C{number:07d}",
            "document_expires": arrival.date() + timedelta(days=900),
        },
        "containers": list(containers),
        "goods": goods if goods is not None else laptops(),
        "quarantine_certificates": list(certificates),
        **({"health_declaration": health_declaration} if health_declaration is not None else {}),
    }


@pytest.fixture(autouse=True)
def base(db, reference):
    """The reference gates, the officers' groups, no random selection."""
    call_command("setup_roles", stdout=io.StringIO())
    RiskSettings.current()
    RiskSettings.objects.update(random_rate_percent=0, random_rate_priority_percent=0, random_rate_floor_percent=0)


@pytest.fixture
def company(db):
    return company_create(tax_code_text="0101234565", name="Công ty TNHH Vận tải Hữu Nghị")


@pytest.fixture
def submit(company, django_capture_on_commit_callbacks):
    """Submit the n-th truck; with ``checked`` its three checks run after commit, as the workers do."""

    def make(n: int, *, checked: bool = True, status: str | None = "cleared", **kwargs) -> Declaration:
        if checked:
            with django_capture_on_commit_callbacks(execute=True):
                declaration = declaration_submit(company=company, actor=SUBMITTER, data=declaration_data(n, **kwargs))
        else:
            declaration = declaration_submit(company=company, actor=SUBMITTER, data=declaration_data(n, **kwargs))
        declaration.refresh_from_db()
        if checked and status:
            assert declaration.status == status, declaration.status
        return declaration

    return make


def arrive(declaration: Declaration, *, minutes_ago: int) -> Declaration:
    """The truck enters the export yard (the dispatcher asked for after commit never runs in a test)."""
    result = yard_arrival_record(
        plate_read=declaration.vehicle.plate,
        yard=Yard.objects.get(code=EXPORT_YARD),
        occurred_at=timezone.now() - timedelta(minutes=minutes_ago),
        source="camera-1",
        actor=CAMERA,
    ).declaration
    assert isinstance(result, Declaration)
    result.refresh_from_db()
    assert result.stage == Declaration.Stage.IN_YARD
    return result


@pytest.fixture
def officer(db):
    """An officer of a role (a key of ROLE_NAMES): staff, in that role's group."""
    made = {}

    def make(role: str):
        if role not in made:
            user = get_user_model().objects.create_user(username=f"{role}-officer", password="x", is_staff=True)
            user.groups.add(Group.objects.get(name=ROLE_NAMES[role]))
            made[role] = user
        return made[role]

    return make


@pytest.fixture
def login(client, officer):
    def as_role(role: str):
        user = officer(role)
        client.force_login(user)
        return user

    return as_role


@pytest.fixture
def quarantine_only(submit):
    """Durian without a certificate: one open quarantine inspection (green channel otherwise)."""

    def make(n: int) -> Declaration:
        declaration = submit(n, goods=DURIAN, status="inspection")
        assert list(declaration.inspections.values_list("force", "status")) == [("quarantine", "open")]
        return declaration

    return make


@pytest.fixture
def held(quarantine_only, officer):
    """A declaration held by a failed quarantine inspection."""

    def make(n: int) -> Declaration:
        declaration = quarantine_only(n)
        inspection_record_result(
            inspection_id=declaration.inspections.get().id,
            user=officer("quarantine"),
            passed=False,
            notes="Live pests found",
        )
        declaration.refresh_from_db()
        assert declaration.status == Declaration.Status.HELD
        return declaration

    return make


def changelist(model: str) -> str:
    return reverse(f"admin:clearance_{model}_changelist")


def action_options(html: str) -> set[str]:
    """The actions offered in the changelist's action select (empty when there is none)."""
    select = re.search(r'<select name="action"[^>]*>(.*?)</select>', html, re.S)
    if select is None:
        return set()
    return {value for value in re.findall(r'<option value="([^"]*)"', select.group(1)) if value}


def run_action(client, model: str, action: str, ids: list[int], **extra):
    return client.post(changelist(model), {"action": action, "_selected_action": [str(i) for i in ids], **extra})


def confirm_action(client, model: str, action: str, ids: list[int], reason: str):
    return run_action(client, model, action, ids, confirmed="yes", reason=reason)


# --- Roles -------------------------------------------------------------------------------------


def group_permissions() -> dict[str, set[str]]:
    return {
        group.name: {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        for group in Group.objects.prefetch_related("permissions__content_type")
    }


def test_setup_roles_is_idempotent_and_brings_groups_back_in_line():
    first = group_permissions()
    call_command("setup_roles", stdout=io.StringIO())
    second = group_permissions()

    assert first == second
    assert set(second) == set(roles.ROLES)
    assert second == {role: set(codenames) for role, codenames in roles.ROLE_PERMISSIONS.items()}
    assert Group.objects.count() == 7

    # A group edited by hand is brought back to what the role allows.
    customs = Group.objects.get(name=roles.CUSTOMS_OFFICER)
    customs.permissions.add(Permission.objects.get(content_type__app_label="clearance", codename="view_watchlistentry"))
    customs.permissions.remove(Permission.objects.get(content_type__app_label="clearance", codename="view_hsriskrule"))
    call_command("setup_roles", stdout=io.StringIO())
    assert group_permissions() == second


@pytest.mark.parametrize(
    "role, url, expected",
    [
        ("quarantine", "admin:clearance_revokedcertificate_changelist", 200),
        ("quarantine", "admin:clearance_revokedcertificate_add", 200),
        ("quarantine", "admin:clearance_watchlistentry_changelist", 403),
        ("quarantine", "admin:clearance_hsriskrule_changelist", 403),
        ("customs", "admin:clearance_hsriskrule_changelist", 200),
        ("customs", "admin:clearance_hsriskrule_add", 403),  # supervisors change the rules
        ("customs", "admin:clearance_referenceprice_changelist", 200),
        ("customs", "admin:clearance_referenceprice_add", 403),
        ("customs", "admin:clearance_watchlistentry_changelist", 403),
        ("customs", "admin:clearance_revokedcertificate_changelist", 403),
        ("border_guard", "admin:clearance_watchlistentry_changelist", 200),
        ("border_guard", "admin:clearance_watchlistentry_add", 200),
        ("border_guard", "admin:clearance_hsriskrule_changelist", 403),
        ("border_guard", "admin:vehicles_lane_changelist", 403),
        ("gate", "admin:vehicles_lane_changelist", 200),
        ("gate", "admin:clearance_arrivalslot_changelist", 200),
        ("gate", "admin:clearance_laneevent_changelist", 200),
        ("gate", "admin:clearance_watchlistentry_changelist", 403),
        ("gate", "admin:clearance_hsriskrule_changelist", 403),
        ("gate", "admin:clearance_tariff_changelist", 200),
        ("gate", "admin:clearance_tariff_add", 403),  # the tariff belongs to the fee administrators
        ("fees", "admin:clearance_tariff_add", 200),
        ("fees", "admin:clearance_watchlistentry_changelist", 403),
        ("fees", "admin:vehicles_lane_changelist", 403),
        ("supervisor", "admin:clearance_watchlistentry_changelist", 200),
        ("supervisor", "admin:clearance_watchlistentry_add", 403),
        ("supervisor", "admin:clearance_hsriskrule_changelist", 200),
        ("supervisor", "admin:clearance_hsriskrule_add", 200),
        ("supervisor", "admin:clearance_risksettings_changelist", 200),
        ("supervisor", "admin:vehicles_lane_changelist", 200),
    ],
)
def test_each_role_opens_only_its_screens(client, login, role, url, expected):
    login(role)

    assert client.get(reverse(url)).status_code == expected


OFFICERS_AT_THE_GATE = [role for role in ROLE_NAMES if role != "fees"]  # fee administrators see fees only


@pytest.mark.parametrize("role", OFFICERS_AT_THE_GATE)
def test_every_role_sees_the_declarations(client, login, submit, role):
    declaration = submit(0)
    login(role)

    response = client.get(changelist("declaration"))
    assert response.status_code == 200
    assert declaration.reference in response.content.decode()
    assert client.get(reverse("admin:clearance_declaration_change", args=[declaration.id])).status_code == 200
    assert client.get(changelist("inspection")).status_code == 200


def test_gate_operator_opens_the_lane_board(client, login):
    login("gate")
    route = Route.objects.get(code=ROUTE)

    assert client.get(reverse("admin:lane-board", args=[route.id])).status_code == 200
    assert client.get(reverse("admin:lane-board-data", args=[route.id])).status_code == 200


def test_a_supervisor_edits_an_hs_risk_rule_and_a_line_customs_officer_cannot(client, login):
    rule = HsRiskRule.objects.create(hs_prefix="8517", weight=35, description="Phones")
    body = {
        "hs_prefix": "8517",
        "weight": 50,
        "description": "Phones: value fraud",
        "is_active": "on",
        "change_reason": "Audit finding 2026-11",
    }
    login("customs")
    assert client.post(reverse("admin:clearance_hsriskrule_change", args=[rule.id]), body).status_code == 403
    login("supervisor")

    response = client.post(
        reverse("admin:clearance_hsriskrule_change", args=[rule.id]),
        {
            "hs_prefix": "8517",
            "weight": 50,
            "description": "Phones: value fraud",
            "is_active": "on",
            "change_reason": "Audit finding 2026-11",
        },
    )

    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.weight, rule.description) == (50, "Phones: value fraud")
    change = rule.history.first()  # the latest version: who, when, why
    assert (change.history_user.username, change.history_change_reason) == (
        "supervisor-officer",
        "Audit finding 2026-11",
    )


def test_a_watchlist_entry_is_ended_with_a_reason_never_deleted(client, login):
    entry = WatchlistEntry.objects.create(
        kind=WatchlistEntry.Kind.PERSON, full_name="Trần Văn Cường", action=WatchlistEntry.Action.DENY, reason="Order 3"
    )
    login("border_guard")

    assert client.get(reverse("admin:clearance_watchlistentry_delete", args=[entry.id])).status_code == 403
    assert (
        client.post(reverse("admin:clearance_watchlistentry_delete", args=[entry.id]), {"post": "yes"}).status_code
        == 403
    )
    assert WatchlistEntry.objects.filter(id=entry.id).exists()
    login("supervisor")
    assert (
        client.post(reverse("admin:clearance_watchlistentry_delete", args=[entry.id]), {"post": "yes"}).status_code
        == 403
    )
    assert WatchlistEntry.objects.filter(id=entry.id).exists()


def test_border_guard_adds_a_watchlist_entry_and_customs_cannot(client, login):
    body = {
        "kind": "person",
        "full_name": "Nguyễn Văn Bình",
        "action": "deny",
        "reason": "Court order 12/2026",
        "document_number": "",
        "plate": "",
        "expires_at_0": "",
        "expires_at_1": "",
        "change_reason": "Court order received",
    }
    login("customs")
    assert client.post(reverse("admin:clearance_watchlistentry_add"), body).status_code == 403
    assert not WatchlistEntry.objects.exists()

    guard = login("border_guard")
    response = client.post(reverse("admin:clearance_watchlistentry_add"), body)

    assert response.status_code == 302
    entry = WatchlistEntry.objects.get()
    assert (entry.added_by, entry.name_key) == (guard, "nguyen van binh")


def test_quarantine_officer_adds_a_revoked_certificate(client, login):
    officer = login("quarantine")

    response = client.post(
        reverse("admin:clearance_revokedcertificate_add"),
        {"number": "KD-2026-009999", "reason": "Forged lab results", "change_reason": "Lab notice 7/2026"},
    )

    assert response.status_code == 302
    assert RevokedCertificate.objects.get().added_by == officer


# --- Declarations: no raw editing --------------------------------------------------------------


def test_declaration_detail_has_no_editable_status_or_stage(client, login, submit):
    declaration = submit(0)
    login("supervisor")

    response = client.get(reverse("admin:clearance_declaration_change", args=[declaration.id]))

    html = response.content.decode()
    assert response.status_code == 200
    assert declaration.reference in html
    for field in ("status", "stage", "channel", "lane", "version"):
        assert f'name="{field}"' not in html, field
    assert 'name="_save"' not in html


@pytest.mark.parametrize("role", OFFICERS_AT_THE_GATE)
def test_declaration_detail_shows_what_was_declared(client, login, submit, role):
    """Every officer reads the whole declaration: customs numbers, containers, goods, certificates."""
    containers = [{"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]}]
    declaration = submit(0, goods=DURIAN, certificates=[certificate()], containers=containers)
    login(role)

    html = client.get(reverse("admin:clearance_declaration_change", args=[declaration.id])).content.decode()

    number = declaration.customs_declarations.get().number
    for shown in (number, "CSQU3054383", "Fresh durian", "KD-2026-001234", "checks_started"):
        assert shown in html, shown


@pytest.mark.parametrize("role", ["supervisor", "gate", "customs"])
def test_posting_a_change_to_a_declaration_changes_nothing(client, login, submit, role):
    declaration = submit(0)
    login(role)

    response = client.post(
        reverse("admin:clearance_declaration_change", args=[declaration.id]),
        {"status": "rejected", "stage": "crossed", "channel": "red", "_save": "Save"},
    )

    assert response.status_code == 403
    declaration.refresh_from_db()
    assert (declaration.status, declaration.stage, declaration.channel) == ("cleared", "expected", "green")
    assert client.get(reverse("admin:clearance_declaration_add")).status_code == 403
    assert (
        client.post(reverse("admin:clearance_declaration_delete", args=[declaration.id]), {"post": "yes"}).status_code
        == 403
    )
    assert Declaration.objects.filter(id=declaration.id).exists()


# --- Declaration actions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, offered, not_offered",
    [
        (
            "gate",
            {"call_forward", "turn_back"},
            {"release_held", "reject_held", "waive_arrival_hold", "delete_selected"},
        ),
        ("supervisor", {"release_held", "reject_held", "waive_arrival_hold"}, {"delete_selected"}),
        ("customs", set(), {"call_forward", "turn_back", "release_held", "reject_held", "delete_selected"}),
        ("border_guard", set(), {"call_forward", "turn_back", "release_held", "reject_held"}),
        ("quarantine", set(), {"call_forward", "turn_back", "release_held", "reject_held"}),
    ],
)
def test_actions_are_offered_only_to_the_roles_allowed(client, login, submit, role, offered, not_offered):
    submit(0)
    login(role)

    options = action_options(client.get(changelist("declaration")).content.decode())

    assert offered <= options
    assert not options & not_offered


def test_gate_operator_turns_back_a_waiting_truck_after_confirming_with_a_reason(client, login, submit):
    declaration = arrive(submit(0), minutes_ago=30)
    operator = login("gate")

    confirmation = run_action(client, "declaration", "turn_back", [declaration.id])

    html = confirmation.content.decode()
    assert confirmation.status_code == 200
    assert 'name="reason"' in html and 'name="confirmed" value="yes"' in html
    assert declaration.reference in html
    declaration.refresh_from_db()
    assert declaration.stage == Declaration.Stage.IN_YARD  # nothing happens before confirmation

    too_short = confirm_action(client, "declaration", "turn_back", [declaration.id], reason="no")
    assert too_short.status_code == 200  # the form again, with its error
    declaration.refresh_from_db()
    assert declaration.stage == Declaration.Stage.IN_YARD

    done = confirm_action(client, "declaration", "turn_back", [declaration.id], reason="Seal broken at the yard")

    assert done.status_code == 302
    declaration.refresh_from_db()
    assert declaration.stage == Declaration.Stage.TURNED_BACK
    event = DeclarationEvent.objects.get(declaration=declaration, event="turned_back")
    assert (event.actor_kind, event.actor, event.reason) == ("user", operator.username, "Seal broken at the yard")
    assert event.user_id == operator.id


def test_turning_back_a_truck_that_cannot_be_is_reported_not_applied(client, login, submit):
    declaration = arrive(submit(0), minutes_ago=10)
    declaration_turn_back(declaration_id=declaration.id, actor=Actor.system("gate"), reason="First time")
    login("gate")

    response = confirm_action(client, "declaration", "turn_back", [declaration.id], reason="Once more")

    assert response.status_code == 302
    declaration.refresh_from_db()
    assert declaration.stage == Declaration.Stage.TURNED_BACK
    assert DeclarationEvent.objects.filter(declaration=declaration, event="turned_back").count() == 1
    messages = [str(m) for m in client.get(changelist("declaration")).context["messages"]]
    assert any("cannot be turned back" in message for message in messages), messages


def test_supervisor_releases_a_held_declaration(client, login, held):
    declaration = held(0)
    supervisor = login("supervisor")

    confirmation = run_action(client, "declaration", "release_held", [declaration.id])
    assert confirmation.status_code == 200 and 'name="reason"' in confirmation.content.decode()

    response = confirm_action(
        client, "declaration", "release_held", [declaration.id], reason="Pests treated on site, re-inspected"
    )

    assert response.status_code == 302
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.CLEARED
    event = DeclarationEvent.objects.filter(declaration=declaration, event="cleared").latest("id")
    assert (event.actor, event.reason) == (supervisor.username, "Pests treated on site, re-inspected")


def test_supervisor_waives_an_early_arrival_hold_with_a_reason_shown_in_the_queue(client, login, submit):
    declaration = arrive(submit(0), minutes_ago=10)  # declared moments ago: its notice has not run
    login("gate")
    assert "early, held until" in client.get(changelist("declaration")).content.decode()
    supervisor = login("supervisor")

    response = confirm_action(
        client, "declaration", "waive_arrival_hold", [declaration.id], reason="Checks done; fruit spoiling"
    )

    assert response.status_code == 302
    declaration.refresh_from_db()
    assert declaration.arrival_held_until is None
    event = DeclarationEvent.objects.get(declaration=declaration, event="arrival_hold_waived")
    assert (event.actor, event.reason) == (supervisor.username, "Checks done; fruit spoiling")


def test_supervisor_rejects_a_held_declaration(client, login, held):
    declaration = held(0)
    supervisor = login("supervisor")

    response = confirm_action(client, "declaration", "reject_held", [declaration.id], reason="Infested cargo")

    assert response.status_code == 302
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.REJECTED
    event = DeclarationEvent.objects.get(declaration=declaration, event="rejected")
    assert (event.actor, event.reason) == (supervisor.username, "Infested cargo")


@pytest.mark.parametrize("role", ["gate", "customs", "quarantine"])
@pytest.mark.parametrize("action", ["release_held", "reject_held"])
def test_only_a_supervisor_releases_or_rejects_even_posting_the_action_directly(client, login, held, role, action):
    declaration = held(0)
    login(role)

    run_action(client, "declaration", action, [declaration.id])
    confirm_action(client, "declaration", action, [declaration.id], reason="I decide this myself")

    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.HELD
    assert not DeclarationEvent.objects.filter(declaration=declaration, event__in=["cleared", "rejected"]).exists()


def test_customs_officer_cannot_turn_back_by_posting_the_action(client, login, submit):
    declaration = arrive(submit(0), minutes_ago=10)
    login("customs")

    confirm_action(client, "declaration", "turn_back", [declaration.id], reason="Not my call")

    declaration.refresh_from_db()
    assert declaration.stage == Declaration.Stage.IN_YARD


# --- Inspections -------------------------------------------------------------------------------


def test_each_force_sees_its_own_inspections_and_the_supervisor_all(client, login, quarantine_only, submit):
    quarantine_only(0)
    HsRiskRule.objects.create(hs_prefix="0810", weight=35, description="Durian declared as other fruit")
    both = submit(1, goods=DURIAN, status="inspection")
    assert sorted(both.inspections.values_list("force", flat=True)) == ["customs", "quarantine"]

    login("quarantine")
    rows = client.get(changelist("inspection")).context["cl"].result_list
    assert sorted(i.force for i in rows) == ["quarantine", "quarantine"]

    login("customs")
    rows = client.get(changelist("inspection")).context["cl"].result_list
    assert [(i.force, i.declaration_id) for i in rows] == [("customs", both.id)]

    login("border_guard")
    assert list(client.get(changelist("inspection")).context["cl"].result_list) == []

    login("supervisor")
    assert len(client.get(changelist("inspection")).context["cl"].result_list) == 3


def test_quarantine_officer_records_a_pass_and_the_declaration_is_cleared(client, login, quarantine_only):
    declaration = quarantine_only(0)
    inspection = declaration.inspections.get()
    officer = login("quarantine")

    confirmation = run_action(client, "inspection", "record_pass", [inspection.id])
    assert confirmation.status_code == 200 and 'name="reason"' in confirmation.content.decode()

    response = confirm_action(client, "inspection", "record_pass", [inspection.id], reason="Fruit inspected, clean")

    assert response.status_code == 302
    inspection.refresh_from_db()
    declaration.refresh_from_db()
    assert (inspection.status, inspection.resolved_by, inspection.notes) == (
        "passed",
        officer,
        "Fruit inspected, clean",
    )
    assert declaration.status == Declaration.Status.CLEARED
    event = DeclarationEvent.objects.get(declaration=declaration, event="inspection_passed")
    assert (event.actor, event.reason) == (officer.username, "Fruit inspected, clean")


def test_quarantine_officer_records_a_fail_and_the_declaration_is_held(client, login, quarantine_only):
    declaration = quarantine_only(0)
    inspection = declaration.inspections.get()
    login("quarantine")

    confirm_action(client, "inspection", "record_fail", [inspection.id], reason="Live pests found")

    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.HELD


@pytest.mark.parametrize("role", ["customs", "border_guard", "gate"])
def test_another_force_posting_a_quarantine_result_changes_nothing(client, login, quarantine_only, role):
    declaration = quarantine_only(0)
    inspection = declaration.inspections.get()
    login(role)

    confirm_action(client, "inspection", "record_pass", [inspection.id], reason="Looks fine to me")

    inspection.refresh_from_db()
    declaration.refresh_from_db()
    assert (inspection.status, inspection.resolved_by) == ("open", None)
    assert declaration.status == Declaration.Status.INSPECTION


def test_inspection_detail_is_read_only(client, login, quarantine_only):
    inspection = quarantine_only(0).inspections.get()
    login("quarantine")

    response = client.get(reverse("admin:clearance_inspection_change", args=[inspection.id]))
    assert response.status_code == 200
    assert 'name="status"' not in response.content.decode()

    client.post(
        reverse("admin:clearance_inspection_change", args=[inspection.id]), {"status": "passed", "_save": "Save"}
    )
    inspection.refresh_from_db()
    assert inspection.status == "open"


# --- Lane board --------------------------------------------------------------------------------


@pytest.fixture
def yard_queue(submit):
    """Four trucks waiting in the export yard; the perishable one first, then by arrival."""
    early = arrive(submit(0), minutes_ago=50)
    late = arrive(submit(1), minutes_ago=10)
    middle = arrive(submit(2), minutes_ago=30)
    fruit = arrive(submit(3, goods=DURIAN, certificates=[certificate()]), minutes_ago=5)
    return [fruit, early, middle, late]


def certificate() -> dict:
    day = timezone.localdate(timezone.now() + timedelta(hours=24))
    return {"number": "KD-2026-001234", "issued_on": day - timedelta(days=3), "expires_on": day + timedelta(days=27)}


def test_lane_board_lists_the_lanes_and_the_yard_queue_in_order(client, login, yard_queue):
    login("gate")
    route = Route.objects.get(code=ROUTE)

    response = client.get(reverse("admin:lane-board", args=[route.id]))

    html = response.content.decode()
    assert response.status_code == 200
    for lane in Lane.objects.filter(route=route):
        assert f'data-lane="{lane.code}"' in html
    positions = [html.index(declaration.reference) for declaration in yard_queue]
    assert positions == sorted(positions)
    assert 'id="queue-count">4<' in html
    assert 'data-action="close"' in html  # a gate operator gets the buttons


def test_lane_board_data_has_lane_flags_and_the_queue(client, login, yard_queue):
    login("supervisor")
    route = Route.objects.get(code=ROUTE)
    Lane.objects.filter(code="1119-EX1").update(is_open=False)

    data = client.get(reverse("admin:lane-board-data", args=[route.id])).json()

    lanes = {lane["code"]: lane for lane in data["lanes"]}
    assert set(lanes) == set(Lane.objects.filter(route=route).values_list("code", flat=True))
    assert lanes["1119-EX1"]["open"] is False
    assert all(lane["open"] for code, lane in lanes.items() if Lane.objects.get(code=code).is_open)
    assert [row["reference"] for row in data["queue"]] == [d.reference for d in yard_queue]
    assert data["queue"][0]["perishable"] is True and data["queue"][1]["perishable"] is False
    assert data["queue"][1]["waiting_minutes"] >= 49
    assert data["can_operate"] is True


def test_lane_board_offers_no_buttons_to_customs(client, login, yard_queue):
    login("customs")
    route = Route.objects.get(code=ROUTE)

    response = client.get(reverse("admin:lane-board", args=[route.id]))

    assert response.status_code == 200
    assert 'data-action="close"' not in response.content.decode()
    assert client.get(reverse("admin:lane-board-data", args=[route.id])).json()["can_operate"] is False


def test_gate_operator_closes_a_lane_from_the_board(client, login):
    lane = Lane.objects.get(code="1119-EX1")
    Lane.objects.filter(id=lane.id).update(is_open=True)
    operator = login("gate")

    response = client.post(reverse("admin:lane-action", args=[lane.id, "close"]), {"reason": "Barrier fault"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:lane-board", args=[lane.route_id])
    lane.refresh_from_db()
    assert lane.is_open is False
    event = LaneEvent.objects.get(lane=lane)
    assert (event.event, event.actor, event.user, event.reason) == (
        "closed",
        operator.username,
        operator,
        "Barrier fault",
    )

    client.post(reverse("admin:lane-action", args=[lane.id, "open"]), {"reason": "Repaired"})
    lane.refresh_from_db()
    assert lane.is_open is True
    assert LaneEvent.objects.filter(lane=lane, event="opened", actor=operator.username).exists()


@pytest.mark.parametrize("role", ["customs", "border_guard", "quarantine"])
def test_other_officers_cannot_operate_lanes(client, login, role):
    lane = Lane.objects.get(code="1119-EX1")
    Lane.objects.filter(id=lane.id).update(is_open=True)
    login(role)

    response = client.post(reverse("admin:lane-action", args=[lane.id, "close"]), {"reason": "Just because"})

    assert response.status_code == 403
    lane.refresh_from_db()
    assert lane.is_open is True
    assert not LaneEvent.objects.exists()


def test_a_lane_action_first_says_its_effect_and_asks_for_a_reason(client, login, submit):
    lane = Lane.objects.get(code="1119-EX1")
    Lane.objects.filter(id=lane.id).update(is_open=True)
    login("gate")

    page = client.get(reverse("admin:lane-action", args=[lane.id, "close"]))
    without_reason = client.post(reverse("admin:lane-action", args=[lane.id, "close"]), {"reason": "  "})

    assert page.status_code == 200
    assert "No vehicle is called to this lane" in page.content.decode()
    assert 'name="reason"' in page.content.decode()
    assert without_reason.status_code == 200 and "Give the reason" in without_reason.content.decode()
    lane.refresh_from_db()
    assert lane.is_open is True and not LaneEvent.objects.exists()


def test_lane_action_refuses_unknown_actions(client, login):
    lane = Lane.objects.get(code="1119-EX1")
    Lane.objects.filter(id=lane.id).update(is_open=True)
    login("gate")

    assert client.get(reverse("admin:lane-action", args=[lane.id, "demolish"])).status_code == 403
    assert client.post(reverse("admin:lane-action", args=[lane.id, "demolish"])).status_code == 403
    lane.refresh_from_db()
    assert lane.is_open is True


def test_lane_board_needs_a_staff_login(client, db):
    route = Route.objects.get(code=ROUTE)

    response = client.get(reverse("admin:lane-board-data", args=[route.id]))

    assert response.status_code == 302 and "/login/" in response["Location"]


# --- Dashboard ---------------------------------------------------------------------------------


def test_dashboard_shows_waiting_vehicles_and_channels(client, login, submit):
    HsRiskRule.objects.create(hs_prefix="8517", weight=35, description="Smartphones under-declared")
    arrive(submit(0), minutes_ago=20)
    arrive(submit(1), minutes_ago=10)
    submit(2)
    submit(3, goods=PHONES, status="inspection")
    login("supervisor")

    response = client.get(reverse("admin:dashboard"))

    html = response.content.decode()
    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures["waiting"] == 2
    assert figures["channels"] == {"green": 3, "yellow": 1, "red": 0}
    assert 'id="waiting">2<' in html
    assert {bar["name"]: bar["count"] for bar in response.context["channel_bars"]} == {
        "green": 3,
        "yellow": 1,
        "red": 0,
    }
    assert f"{ROUTE} · Export" in html  # the direction in words, not its code


# --- No N+1 ------------------------------------------------------------------------------------


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(context.captured_queries)


def test_screens_run_a_bounded_number_of_queries(client, login, submit):
    route = Route.objects.get(code=ROUTE)

    def traffic(start: int, stop: int) -> None:
        for n in range(start, stop):
            declaration = submit(n, checked=False)
            if n % 2 == 0:
                arrive(declaration, minutes_ago=300 - n)

    traffic(0, 10)
    login("supervisor")
    pages = [
        changelist("declaration"),
        reverse("admin:lane-board", args=[route.id]),
        reverse("admin:lane-board-data", args=[route.id]),
        f"{changelist('declaration')}?q=12C",
    ]
    for url in pages:
        client.get(url)  # warm the per-process caches (content types, sessions)
    small = {url: count_queries(client, url) for url in pages}

    traffic(10, 200)
    assert Declaration.objects.count() == 200
    large = {url: count_queries(client, url) for url in pages}

    assert large == small


def test_declaration_detail_runs_a_bounded_number_of_queries(client, login, submit, officer):
    """A declaration with many lines, inspections and events costs as many queries as a small one."""
    small = submit(0, goods=DURIAN, status="inspection")
    inspection_record_result(inspection_id=small.inspections.get().id, user=officer("quarantine"), passed=True)
    arrive(small, minutes_ago=30)

    HsRiskRule.objects.create(hs_prefix="0810", weight=60, description="Durian")
    WatchlistEntry.objects.create(kind="vehicle", plate=plate_of(1), action="flag", reason="Look closer")
    containers = [{"number": f"CSQU{3054300 + k:07d}", "size": "40", "seals": [f"VNC{k:06d}"]} for k in range(8)]
    large = submit(1, goods=DURIAN + laptops(15), containers=containers, status="inspection", customs_numbers=5)
    assert large.inspections.count() == 3
    for inspection in large.inspections.all():
        inspection_record_result(inspection_id=inspection.id, user=officer("supervisor"), passed=True)
    arrive(large, minutes_ago=20)

    login("supervisor")
    url_small = reverse("admin:clearance_declaration_change", args=[small.id])
    url_large = reverse("admin:clearance_declaration_change", args=[large.id])
    client.get(url_small)

    assert count_queries(client, url_large) <= count_queries(client, url_small)


# --- Vietnamese --------------------------------------------------------------------------------


def test_admin_speaks_vietnamese_from_the_language_cookie(client, login):
    login("gate")
    client.cookies["django_language"] = "vi"

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert re.search(r'<html[^>]*lang="vi"', response.content.decode())


def test_officer_switches_to_vietnamese(client, login):
    login("customs")
    assert re.search(r'<html[^>]*lang="en', client.get(reverse("admin:index")).content.decode())

    response = client.post("/i18n/setlang/", {"language": "vi", "next": reverse("admin:index")})
    assert response.status_code == 302

    html = client.get(reverse("admin:index")).content.decode()
    assert re.search(r'<html[^>]*lang="vi"', html)


# --- Demo --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_demo_creates_the_logins_and_traffic_once(settings):
    """Committed for real, as on a developer's machine: the checks and the dispatcher run after each commit."""
    settings.DEBUG = True

    out = io.StringIO()
    call_command("demo", "--traffic", stdout=out)

    User = get_user_model()
    users = {user.username: user for user in User.objects.prefetch_related("groups")}
    assert {"officer", "customs", "borderguard", "quarantine", "operator", "supervisor", "fees"} <= set(users)
    assert users["officer"].is_superuser and users["officer"].is_staff
    for username, role in [
        ("customs", roles.CUSTOMS_OFFICER),
        ("borderguard", roles.BORDER_GUARD_OFFICER),
        ("quarantine", roles.QUARANTINE_OFFICER),
        ("operator", roles.GATE_OPERATOR),
        ("supervisor", roles.SUPERVISOR),
        ("fees", roles.FEE_ADMINISTRATOR),
    ]:
        user = users[username]
        assert user.is_staff and not user.is_superuser
        assert [g.name for g in user.groups.all()] == [role]
        assert user.check_password("smartgate-demo")
    count = Declaration.objects.count()
    assert count == 24
    statuses = set(Declaration.objects.values_list("status", flat=True))
    assert len(statuses) >= 3, statuses
    assert {"cleared", "inspection", "rejected"} <= statuses, statuses
    assert Declaration.objects.filter(stage=Declaration.Stage.IN_YARD).exists()
    assert Company.objects.count() == 2

    call_command("demo", "--traffic", stdout=out)

    assert Declaration.objects.count() == count
    assert User.objects.filter(username__in=list(users)).count() == len(users)


def test_demo_refuses_without_debug(settings):
    from django.core.management import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("demo", stdout=io.StringIO())
    assert not get_user_model().objects.filter(username="officer").exists()


# --- Reference data keeps its history -------------------------------------------------------------------


def test_a_change_to_reference_data_needs_a_reason(client, login):
    rule = HsRiskRule.objects.create(hs_prefix="8517", weight=35, description="Phones")
    login("supervisor")

    response = client.post(
        reverse("admin:clearance_hsriskrule_change", args=[rule.id]),
        {"hs_prefix": "8517", "weight": 90, "description": "Phones", "is_active": "on"},
    )

    assert response.status_code == 200  # the form again, with the missing reason named
    assert "change_reason" in response.context["adminform"].form.errors
    rule.refresh_from_db()
    assert rule.weight == 35


def test_the_rules_in_force_at_a_decision_can_be_read_back(client, login):
    rule = HsRiskRule.objects.create(hs_prefix="8517", weight=35, description="Phones")
    decided_at = timezone.now()
    login("supervisor")
    client.post(
        reverse("admin:clearance_hsriskrule_change", args=[rule.id]),
        {"hs_prefix": "8517", "weight": 90, "description": "Phones", "is_active": "on", "change_reason": "Raised"},
    )

    assert HsRiskRule.history.as_of(decided_at).get(id=rule.id).weight == 35
    assert HsRiskRule.objects.get(id=rule.id).weight == 90
    assert client.get(reverse("admin:clearance_hsriskrule_history", args=[rule.id])).status_code == 200


def test_a_lane_closed_from_the_board_keeps_the_reason_in_its_history(client, login, reference):
    lane = Lane.objects.get(code="1119-EX1")
    login("gate")

    client.post(reverse("admin:lane-action", args=[lane.id, "close"]), {"reason": "Barrier fault"})

    change = lane.history.first()
    assert (change.is_open, change.history_change_reason, change.history_user.username) == (
        False,
        "Barrier fault",
        "gate-officer",
    )


@pytest.mark.parametrize("typed", ["nguyen van an", "NGUYEN VAN", "an nguyen", "Nguyễn Văn An"])
def test_a_drivers_name_is_found_without_diacritics_in_any_case_and_order(client, login, submit, typed):
    declaration = submit(0, checked=False)  # driver Nguyễn Văn An
    login("border_guard")

    found = client.get(changelist("declaration"), {"q": typed}).context["cl"].result_list

    assert [d.id for d in found] == [declaration.id]


def test_a_name_search_finds_only_the_drivers_of_that_name(client, login, submit):
    submit(0, checked=False)
    login("border_guard")

    assert list(client.get(changelist("declaration"), {"q": "tran thi"}).context["cl"].result_list) == []


def test_call_forward_offers_only_the_lanes_the_truck_may_use(client, login, submit):
    declaration = arrive(submit(0), minutes_ago=10)  # a cleared export on 1119-1120
    login("gate")

    page = run_action(client, "declaration", "call_forward", [declaration.id])

    offered = set(page.context["form"].fields["lane"].queryset.values_list("code", flat=True))
    assert offered and all(code.startswith("1119-") for code in offered)
    lanes = Lane.objects.filter(code__in=offered)
    assert set(lanes.values_list("current_direction", flat=True)) == {Direction.EXPORT}
    assert not lanes.filter(purpose__in=[Lane.Purpose.AUTONOMOUS, Lane.Purpose.EMPTY_RETURN]).exists()


def test_a_declarations_history_is_its_audit_trail(client, login, submit):
    declaration = submit(0)
    login("supervisor")

    response = client.get(reverse("admin:clearance_declaration_history", args=[declaration.id]), follow=True)

    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert shown and {event.declaration_id for event in shown} == {declaration.id}
    assert {event.event for event in shown} >= {DeclarationEvent.Kind.SUBMITTED, DeclarationEvent.Kind.CLEARED}


def test_a_held_truck_shows_no_queue_position(client, login, held):
    declaration = held(0)
    login("supervisor")

    html = client.get(changelist("declaration")).content.decode()

    assert declaration.reference in html and "held: not called" in html


def test_closing_a_lane_sends_the_trucks_called_to_it_back_to_the_queue_at_their_place(client, login):
    called = DeclarationFactory(n=0, stage=Declaration.Stage.CALLED, lane="1119-EX1")
    lane = Lane.objects.get(code="1119-EX1")
    login("gate")

    page = client.get(reverse("admin:lane-action", args=[lane.id, "close"])).content.decode()
    client.post(reverse("admin:lane-action", args=[lane.id, "close"]), {"reason": "Barrier arm broken"})

    assert "1 vehicle(s) called to this lane will go back to the yard queue" in page and called.reference in page
    called.refresh_from_db()
    assert (called.stage, called.lane, called.call_misses) == (Declaration.Stage.IN_YARD, None, 0)
    withdrawn = DeclarationEvent.objects.get(declaration=called, event=DeclarationEvent.Kind.CALL_WITHDRAWN)
    assert withdrawn.reason == "Lane 1119-EX1 closed: Barrier arm broken"
    assert LaneEvent.objects.get(lane=lane, event="closed").data == {"recalled": [called.reference]}
