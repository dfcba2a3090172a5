"""Query budgets of a vehicle's journey after its checks (issue 17's day, issue 18's budgets): the dispatcher's
call, the weighbridge, the border line, the payment. A transition writes its change, its audit event and the
forwarder's event (and what it frees or adds) in one statement. Each budget counts the statements the
service sends, plus the SAVEPOINT and RELEASE its transaction becomes inside a test's (``SAVEPOINT``)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from clearance.models import CROSSING_MOVEMENT, CustomsDeclaration, Declaration, DeclarationEvent, Fee, GatePass
from clearance.services.dispatch import dispatch_run
from clearance.services.fees import payment_record
from clearance.services.gate import crossing_record, weighbridge_record
from tests.factories import DeclarationFactory, notice_has_run, truck_plate_read
from vehicles.models import GateDevice, Lane, Movement

pytestmark = pytest.mark.usefixtures("tariff", "reference")

Stage = Declaration.Stage
Kind = DeclarationEvent.Kind
SAVEPOINT = 2
CROSSING = 2  # the declaration in the lane, then its stage with its events, movement and freed numbers
WEIGHING = 2  # the declaration with its vehicle, then the trail's head with its event and the movement
PAYMENT = 7  # the payment replayed?, the fee locked, the payment (in a savepoint pair), the fee, the trail
# The dispatcher: the open lanes and their windows, one first look over all of them; then per lane that may
# take someone, in its transaction: the lane locked, its room, the queue's turn, the queue's head; per call:
# the call with its events, the gate pass's facts and the pass (the fee is paid).
DISPATCH_RUN, DISPATCH_PER_LANE, DISPATCH_PER_CALL = 3, 4 + SAVEPOINT, 3
TURN_CREATED = 2 + SAVEPOINT  # the route's first call ever starts its queue turn (looked for, then made)


def device(kind: str, declaration: Declaration) -> GateDevice:
    return GateDevice.objects.create(kind=kind, lane=declaration.lane, name=f"{kind}-{declaration.lane.code}")


@pytest.mark.postgresql
def test_a_crossing_is_one_write_with_its_events(django_assert_max_num_queries):
    declaration = DeclarationFactory(n=0, stage=Stage.IN_LANE)
    border = device(GateDevice.Kind.BORDER_LINE, declaration)

    with django_assert_max_num_queries(CROSSING + SAVEPOINT):
        crossed = crossing_record(
            device=border,
            plate=truck_plate_read(0),
            kind=CROSSING_MOVEMENT[declaration.direction],
            occurred_at=timezone.now(),
        )

    assert crossed.id == declaration.id
    declaration.refresh_from_db()
    assert declaration.stage == Stage.CROSSED
    assert declaration.events.order_by("-seq").first().event == Kind.CROSSED
    assert declaration.company.events.filter(declaration_id=declaration.id).latest("seq").type == "vehicle.crossed"
    assert not CustomsDeclaration.objects.filter(declaration=declaration, is_active=True).exists()
    assert Movement.objects.filter(kind=CROSSING_MOVEMENT[declaration.direction], lane=border.lane).count() == 1


@pytest.mark.postgresql
def test_a_weighing_stays_within_its_budget(django_assert_max_num_queries):
    declaration = DeclarationFactory(n=0, stage=Stage.IN_LANE)
    weighbridge = device(GateDevice.Kind.WEIGHBRIDGE, declaration)

    with django_assert_max_num_queries(WEIGHING + SAVEPOINT):
        weighing = weighbridge_record(
            device=weighbridge, plate=truck_plate_read(0), gross_weight_kg=30000, measured_at=timezone.now()
        )

    assert weighing.declaration.id == declaration.id
    assert Movement.objects.get(kind=Movement.Kind.WEIGHBRIDGE).gross_weight_kg == 30000
    assert declaration.events.order_by("-seq").first().event == Kind.WEIGHED


@pytest.mark.postgresql
def test_a_payment_stays_within_its_budget(django_assert_max_num_queries):
    declaration = DeclarationFactory(n=0, stage=Stage.IN_YARD, paid=False)
    fee = Fee.objects.get(declaration=declaration)

    with django_assert_max_num_queries(PAYMENT + SAVEPOINT):
        payment_record(
            provider_payment_id="PAY-0",
            reference=declaration.reference,
            amount_vnd=Decimal(fee.amount_vnd),
            payload={},
        )

    fee.refresh_from_db()
    assert fee.status == Fee.Status.PAID
    assert declaration.events.order_by("-seq").first().event == Kind.FEE_PAID


@pytest.mark.postgresql
def test_a_dispatch_that_calls_one_vehicle_stays_within_its_budget(django_assert_max_num_queries):
    declaration = DeclarationFactory(n=0, stage=Stage.IN_YARD)
    notice_has_run()
    Declaration.objects.filter(id=declaration.id).update(arrival_held_until=None)

    # 1119-EX1 and -EX2 take its exports (the second looks and finds nobody left); the reversible lane, open
    # 07:00–22:00, is closed so that the count holds at any hour the test runs.
    Lane.objects.filter(code="1119-REV1").update(is_open=False)
    lanes = 2

    with django_assert_max_num_queries(DISPATCH_RUN + lanes * DISPATCH_PER_LANE + DISPATCH_PER_CALL + TURN_CREATED):
        called = dispatch_run()

    assert [vehicle.id for vehicle in called] == [declaration.id]
    declaration.refresh_from_db()
    assert declaration.stage == Stage.CALLED
    assert declaration.events.order_by("-seq").first().event == Kind.CALLED
    # Paid before it was called: its signed gate pass is issued with the call, for its lane.
    assert GatePass.objects.get(declaration=declaration, revoked_at__isnull=True).lane_id == declaration.lane_id
