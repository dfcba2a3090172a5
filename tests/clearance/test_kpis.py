"""The province's daily KPIs (manage.py export_kpis and the supervisors' download) and the service-level
objectives supervisors edit, shown with their attainment on the dashboard."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

import openpyxl
import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from clearance import roles
from clearance.models import Declaration, Fee, ServiceLevelObjective
from tests.factories import DeclarationFactory, container
from vehicles.models import LOCAL_TZ, local_date

EXPORT = "1119-1120,export"


@pytest.fixture(autouse=True)
def midday():
    """Today's local noon (ticking): a crossing made "50 minutes ago" falls on the same local day as now,
    whenever the suite runs (local midnight is 17:00 UTC)."""
    today = local_date(timezone.now())
    with time_machine.travel(datetime.combine(today, time(12, 0), tzinfo=LOCAL_TZ), tick=True):
        yield


@pytest.fixture(autouse=True)
def base(db, reference, tariff, midday):
    call_command("setup_roles", stdout=io.StringIO())
    call_command("load_slos", stdout=io.StringIO())


@pytest.fixture
def login(client, db):
    def as_role(role: str):
        user = get_user_model().objects.create_user(username=f"{role}-kpi", password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        return user

    return as_role


@pytest.fixture
def day():
    """Two export crossings today (one with two containers), one import still in the yard."""
    now = timezone.now()
    for n, containers, arrived, crossed in ((1, [container(1), container(2)], 50, 10), (2, [], 30, 5)):
        DeclarationFactory(
            n=n,
            stage=Declaration.Stage.CROSSED,
            containers=containers,
            arrived_at=now - timedelta(minutes=arrived),
            called_at=now - timedelta(minutes=arrived - 2),
            in_lane_at=now - timedelta(minutes=crossed + 3),
            crossed_at=now - timedelta(minutes=crossed),
        )
    DeclarationFactory(n=3, stage=Declaration.Stage.IN_YARD, direction="import")
    return local_date(now)


def _by_route(rows: list[list], header: list) -> dict:
    return {f"{row[0]},{row[1]}": dict(zip(header, row, strict=True)) for row in rows}


def test_export_kpis_writes_the_days_figures_per_route_and_direction_as_csv(day, tmp_path):
    out = tmp_path / "kpis.csv"

    call_command("export_kpis", "--date", day.isoformat(), "--out", str(out), stdout=io.StringIO())

    with out.open(encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    header, rows = table[0], _by_route(table[1:], table[0])
    export = rows[EXPORT]
    assert export["vehicles crossed"] == "2"
    assert export["containers crossed"] == "2"
    assert export["declared value of goods"] == "300000.00"  # two loads of laptops at 150,000 USD
    assert export["currency"] == "USD"
    assert float(export["arrival → crossed p50 (min)"]) == pytest.approx(25, abs=0.1)
    assert float(export["arrival → crossed p99 (min)"]) == pytest.approx(40, abs=0.1)
    fees = Fee.objects.filter(declaration__direction="export")
    assert export["fees issued"] == str(fees.count())
    assert export["fees paid (VND)"] == str(sum(fee.amount_vnd for fee in fees if fee.status == Fee.Status.PAID))
    assert export["offline gate decisions"] == "0"
    # The import in the yard crossed nothing, but its fee was issued today: its row is there.
    assert rows["1119-1120,import"]["vehicles crossed"] == "0"
    assert rows["1119-1120,import"]["fees issued"] == "1"
    assert "route" in header and "holds by reason" in header


def test_export_kpis_xlsx_holds_the_same_figures_as_numbers(day, tmp_path):
    out = tmp_path / "kpis.xlsx"

    call_command("export_kpis", "--date", day.isoformat(), "--format", "xlsx", "--out", str(out), stdout=io.StringIO())

    sheet = openpyxl.load_workbook(out).active
    values = list(sheet.values)
    header, rows = list(values[0]), _by_route([list(row) for row in values[1:]], list(values[0]))
    export = rows[EXPORT]
    assert sheet.title == f"KPIs {day.isoformat()}"
    assert export["vehicles crossed"] == 2
    assert export["containers crossed"] == 2
    assert float(export["declared value of goods"]) == 300000
    assert export["arrival → crossed p50 (min)"] == pytest.approx(25, abs=0.1)
    csv_out = tmp_path / "kpis.csv"
    call_command("export_kpis", "--date", day.isoformat(), "--out", str(csv_out), stdout=io.StringIO())
    with csv_out.open(encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == header


def test_a_day_without_traffic_exports_only_the_header(tmp_path):
    out = tmp_path / "kpis.csv"
    call_command("export_kpis", "--date", "2020-01-01", "--out", str(out), stdout=io.StringIO())
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--date", "15/06/2027"], "--date: '15/06/2027' is not a date"),
        (["--date", "2027-06-15", "--format", "pdf"], "csv, xlsx"),
    ],
)
def test_export_kpis_names_a_wrong_argument(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_kpis", *arguments)


def test_a_supervisor_downloads_the_days_kpis_and_a_gate_operator_cannot(client, login, day):
    url = reverse("admin:kpi-export")
    login(roles.GATE_OPERATOR)
    assert client.get(url, {"date": day.isoformat(), "format": "csv"}).status_code == 403
    login(roles.SUPERVISOR)

    response = client.get(url, {"date": day.isoformat(), "format": "xlsx"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="smartgate-kpis-{day.isoformat()}.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet.cell(row=1, column=1).value == "route"
    csv_response = client.get(url, {"date": day.isoformat(), "format": "csv"})
    assert csv_response["Content-Type"].startswith("text/csv")
    assert client.get(url, {"date": "yesterday"}).status_code == 400
    assert client.get(url, {"date": day.isoformat(), "format": "pdf"}).status_code == 400


# --- Service-level objectives ----------------------------------------------------------------------------


def _objective_body(**changes) -> dict:
    return {
        "name": "Green exports cross within 45 minutes",
        "stage": ServiceLevelObjective.Stage.ARRIVAL_TO_CROSSED,
        "percentile": 95,
        "target_minutes": 45,
        "channel": "green",
        "direction": "export",
        "is_active": "on",
        "change_reason": "Provincial target 2027",
        **changes,
    }


def test_a_supervisor_edits_an_objective_with_a_reason_kept_in_its_history(client, login):
    objective = ServiceLevelObjective.objects.get(name__startswith="Green-channel exports")
    login(roles.SUPERVISOR)

    response = client.post(
        reverse("admin:clearance_servicelevelobjective_change", args=[objective.id]), _objective_body()
    )

    assert response.status_code == 302
    objective.refresh_from_db()
    assert (objective.name, objective.target_minutes) == ("Green exports cross within 45 minutes", 45)
    change = objective.history.first()
    assert (change.history_user.username, change.history_change_reason) == (
        f"{roles.SUPERVISOR}-kpi",
        "Provincial target 2027",
    )
    assert client.post(reverse("admin:clearance_servicelevelobjective_delete", args=[objective.id])).status_code == 403


def test_an_objective_is_not_saved_without_a_reason(client, login):
    login(roles.SUPERVISOR)
    response = client.post(reverse("admin:clearance_servicelevelobjective_add"), _objective_body(change_reason=""))
    assert response.status_code == 200  # the form again, with the error
    assert not ServiceLevelObjective.objects.filter(target_minutes=45).exists()


@pytest.mark.parametrize("role", [roles.GATE_OPERATOR, roles.CUSTOMS_OFFICER, roles.FEE_ADMINISTRATOR])
def test_no_one_but_a_supervisor_changes_or_adds_an_objective(client, login, role):
    objective = ServiceLevelObjective.objects.first()
    login(role)
    change = reverse("admin:clearance_servicelevelobjective_change", args=[objective.id])
    assert client.post(change, _objective_body()).status_code == 403
    assert client.post(reverse("admin:clearance_servicelevelobjective_add"), _objective_body()).status_code == 403
    assert client.get(change).status_code == (200 if role == roles.GATE_OPERATOR else 403)  # operators read them
    assert ServiceLevelObjective.objects.get(id=objective.id).target_minutes == objective.target_minutes


def test_the_dashboard_shows_the_objectives_attainment_for_the_live_day(client, login, day):
    ServiceLevelObjective.objects.create(
        name="Every crossing within 30 minutes",
        stage=ServiceLevelObjective.Stage.ARRIVAL_TO_CROSSED,
        percentile=50,
        target_minutes=30,
    )
    login(roles.SUPERVISOR)

    response = client.get(reverse("admin:dashboard"))

    slos = {slo["name"]: slo for slo in response.context["slos"]}
    assert slos["Every crossing within 30 minutes"]["count"] == 2
    assert slos["Every crossing within 30 minutes"]["value_minutes"] == pytest.approx(25, abs=0.1)
    assert slos["Every crossing within 30 minutes"]["met"] is True
    assert slos["Every crossing within 4 hours of arriving"]["met"] is True
    html = response.content.decode()
    assert "Every crossing within 30 minutes (p50)" in html
    assert reverse("admin:kpi-export") in html  # the supervisor's download
