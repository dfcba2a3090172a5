"""The outbox: every lifecycle transition with a meaning for the forwarder writes its event, in the same
transaction, filtered by the disclosure policy."""

from django.db import transaction

from clearance.models import CompanyEvent, Declaration, DeclarationEvent
from clearance.services.outbox import EVENT_TYPES
from tests.factories import DeclarationFactory

Type = CompanyEvent.Type


def _types(declaration) -> list[str]:
    return list(
        CompanyEvent.objects.filter(declaration_id=declaration.id).order_by("seq").values_list("type", flat=True)
    )


def test_every_audit_kind_is_decided():
    assert set(EVENT_TYPES) == set(DeclarationEvent.Kind)


def test_a_journey_tells_the_forwarder_each_step_in_order_with_a_gapless_sequence(reference, tariff):
    declaration = DeclarationFactory(stage=Declaration.Stage.CROSSED)

    events = list(CompanyEvent.objects.filter(declaration_id=declaration.id).order_by("seq"))
    types = [event.type for event in events]
    assert types[0] == Type.DECLARATION_CREATED
    assert types.count(Type.CHECK_COMPLETED) == 4
    assert types[-5:] == [
        Type.FEE_PAID,
        Type.VEHICLE_ARRIVED,
        Type.VEHICLE_CALLED,
        Type.VEHICLE_IN_LANE,
        Type.VEHICLE_CROSSED,
    ]
    assert Type.DECLARATION_CLEARED in types and Type.FEE_ISSUED in types
    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    declaration.refresh_from_db()
    assert declaration.event_seq == len(events)
    assert {event.company_id for event in events} == {declaration.company_id}
    crossed = events[-1]
    assert crossed.data["declaration"] == {"id": declaration.id, "reference": declaration.reference}
    assert (crossed.data["status"], crossed.data["stage"], crossed.data["seq"]) == ("cleared", "crossed", crossed.seq)
    # Internal bookkeeping is not the forwarder's: the gate decision's id stays out.
    assert "decision" not in events[-2].data


def test_internal_reasons_stay_internal(reference):
    from clearance.models import WatchlistEntry

    WatchlistEntry.objects.create(
        kind=WatchlistEntry.Kind.VEHICLE,
        plate="12c 123.45",
        action=WatchlistEntry.Action.FLAG,
        reason="Intel: smuggling",
    )
    declaration = DeclarationFactory(stage=Declaration.Status.INSPECTION, vehicle__plate="12C-123.45")

    events = CompanyEvent.objects.filter(declaration_id=declaration.id)
    text = str(list(events.values_list("data", flat=True)))
    assert "smuggling" not in text
    assert events.filter(type=Type.INSPECTION_OPENED).exists()


def test_an_event_is_written_with_its_transaction_or_not_at_all(reference):
    declaration = DeclarationFactory(stage=Declaration.Status.CHECKING)
    before = CompanyEvent.objects.count()
    from clearance.audit import Actor
    from clearance.services.declarations import declaration_cancel

    try:
        with transaction.atomic():
            declaration_cancel(
                declaration_id=declaration.id, company=declaration.company, actor=Actor.system("t"), reason="x"
            )
            assert CompanyEvent.objects.count() == before + 1
            raise RuntimeError("roll back")
    except RuntimeError:
        pass

    assert CompanyEvent.objects.count() == before
