"""Query budgets of the hot paths: fixed numbers, documented in the README ("Query budgets"), that do not
grow with the data. A budget counts every statement the request sends to PostgreSQL, authentication
included once the key has been verified in this process (its first use costs one more query: the key
lookup)."""

import pytest
from django.utils import timezone

from clearance.audit import Actor
from clearance.models import Declaration
from clearance.services.lanes import lane_set_open
from tests.clearance.test_gate_decision import client_with_key, create_device
from tests.factories import DeclarationFactory, container, notice_has_run, truck_plate, truck_plate_read
from vehicles.models import DeviceAPIKey, Lane

pytestmark = pytest.mark.usefixtures("tariff")

Stage = Declaration.Stage
Status = Declaration.Status

GATE_DECISION = 3  # the declaration with its fee, the decision; on open the stage + events + movement
YARD_MOVEMENT = 3  # the declaration (tractor, else trailer plate), the stage + events + movement
LIST_PAGE = 4  # the page, its lines (one query for all the page's child rows), the queue positions
DECLARATION_READ = 4  # the same for one declaration


def read(client, plate: str):
    body = {"plate": plate, "read_at": timezone.now().isoformat(), "confidence": "0.970"}
    return client.post("/api/v1/gate/reads/", body, format="json")


@pytest.mark.postgresql
@pytest.mark.parametrize("others", [1, 50])
def test_a_gate_decision_stays_within_its_budget(reference, others, django_assert_max_num_queries):
    for n in range(1, others + 1):
        DeclarationFactory(n=n, stage=Status.CHECKING)
    DeclarationFactory(n=0, stage=Stage.CALLED)
    barrier = client_with_key(create_device("lane_gate", lane="1119-EX1"))
    assert read(barrier, "29H-999.99").json()["decision"] == "hold"  # the key is verified once

    with django_assert_max_num_queries(GATE_DECISION):
        opened = read(barrier, truck_plate_read(0))
    with django_assert_max_num_queries(GATE_DECISION):
        held = read(barrier, truck_plate_read(1))

    assert opened.json()["decision"] == "open"
    assert held.json()["reasons"] == ["not_cleared", "fee_unpaid", "not_called"]


@pytest.mark.postgresql
def test_a_first_read_with_a_new_key_costs_one_lookup_more(reference, django_assert_max_num_queries):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    barrier = client_with_key(create_device("lane_gate", lane="1119-EX1"))

    with django_assert_max_num_queries(GATE_DECISION + 1):
        assert read(barrier, truck_plate_read(0)).json()["decision"] == "open"


@pytest.mark.postgresql
@pytest.mark.parametrize("plate", [truck_plate, lambda n: "12R-012.34"], ids=["tractor", "trailer"])
def test_a_yard_arrival_stays_within_its_budget(reference, plate, django_assert_max_num_queries):
    DeclarationFactory(n=0, trailer={"plate": "12R-012.34", "country": "VN"})
    notice_has_run()
    camera = client_with_key(create_device("yard_gate", yard="1119-export-yard"))
    body = {"plate": "29H-999.99", "kind": "yard_in", "occurred_at": timezone.now().isoformat()}
    assert camera.post("/api/v1/gate/movements/", body, format="json").status_code == 200  # the key, once

    with django_assert_max_num_queries(YARD_MOVEMENT):
        response = camera.post(
            "/api/v1/gate/movements/",
            {"plate": plate(0), "kind": "yard_in", "occurred_at": timezone.now().isoformat()},
            format="json",
        )

    assert response.status_code == 200, response.json()
    assert Declaration.objects.get().stage == Stage.IN_YARD


@pytest.mark.postgresql
def test_a_list_page_of_fifty_stays_within_its_budget(api, declare, django_assert_max_num_queries):
    for index in range(50):
        response = declare(
            vehicle={"plate": f"12C-200.{index:02d}", "country": "VN", "max_gross_weight_kg": 40000},
            customs_declarations=[{"number": f"3051234570{index:02d}", "type": "B11"}],
            containers=[container(index)],
        )
        assert response.status_code == 201, response.json()
    api.get("/api/v1/declarations/?limit=1")  # the key, once

    with django_assert_max_num_queries(LIST_PAGE):
        page = api.get("/api/v1/declarations/?limit=50")
    with django_assert_max_num_queries(LIST_PAGE):
        filtered = api.get("/api/v1/declarations/?limit=50&route=1119-1120&direction=export&status=checking")

    assert len(page.json()["results"]) == 50 and len(filtered.json()["results"]) == 50
    assert all(len(d["containers"]) == 1 and len(d["goods"]) >= 1 for d in page.json()["results"])


@pytest.mark.postgresql
def test_a_declaration_read_stays_within_its_budget(api, declare, django_assert_max_num_queries):
    created = declare().json()
    api.get("/api/v1/declarations/?limit=1")  # the key, once

    with django_assert_max_num_queries(DECLARATION_READ):
        response = api.get(f"/api/v1/declarations/{created['id']}/")

    assert response.json()["reference"] == created["reference"]


# --- What the process cache must not hide -----------------------------------------------------------


def test_a_key_revoked_after_its_first_use_is_refused_at_once(reference):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    barrier = client_with_key(create_device("lane_gate", lane="1119-EX1", name="barrier-revoked"))
    assert read(barrier, "29H-999.99").status_code == 200  # verified and cached

    key = DeviceAPIKey.objects.get(device__name="barrier-revoked")
    key.revoked = True
    key.save()  # as the admin revokes it

    assert read(barrier, truck_plate_read(0)).status_code == 401
    assert Declaration.objects.get().stage == Stage.CALLED


def test_a_lane_closed_after_a_read_holds_the_next_one(reference):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    barrier = client_with_key(create_device("lane_gate", lane="1119-EX1"))
    assert read(barrier, "29H-999.99").status_code == 200  # the device and its lane cached

    lane_set_open(lane_id=Lane.objects.get(code="1119-EX1").id, is_open=False, actor=Actor.system("op"), reason="Fault")

    held = read(barrier, truck_plate_read(0)).json()
    assert held["decision"] == "hold" and "lane_closed" in held["reasons"]
