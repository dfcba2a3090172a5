"""A declaration as the API shows it is built by hand (clearance.api.serializers.declaration_output) for
speed; DeclarationOutput stays the schema's source. The two must say exactly the same thing."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from clearance import selectors
from clearance.api.serializers.declaration_output import declarations_data
from clearance.api.serializers.declarations import DeclarationOutput
from clearance.models import Declaration, EpidemicMode
from tests.factories import EXAMPLE, DeclarationFactory, container, quarantine_certificate

Stage = Declaration.Stage
Status = Declaration.Status
# Run after the parallel part, alone: twice in 2 of 4 runs under pytest-xdist its first declaration stayed
# "checking" when this file came last in a process that had run many others (never alone, nor in the serial
# phase); the cause is not found yet. tests/factories.py's message now names each check's state.
pytestmark = pytest.mark.serial
HEALTHY = {"temperature_c": "36.6", "symptoms": False, "close_contact": False, "crew": []}


def both(declarations: list[Declaration], queue: dict | None = None) -> tuple[list, list]:
    """(the hand-built representation, the serializer's), as a client reads them, in the API's UTC."""
    queue = queue or selectors.queue_positions(declarations)
    with timezone.override(UTC):
        ours = declarations_data(declarations, queue=queue)
        theirs = DeclarationOutput(declarations, many=True, context={"queue": queue}).data
    return ours, theirs


def read(company, declarations) -> list[Declaration]:
    return [selectors.declaration_get(company=company, declaration_id=d.id) for d in declarations]


@pytest.mark.django_db(transaction=False)
def test_the_hand_built_representation_is_the_serializers_for_every_part(reference, tariff):
    # Fully populated: trailer, containers, certificates, health declaration, checks, a paid fee, a yard
    # and queue position; one crossed (lane, every time, dwell minutes); one sent to inspection.
    def full(n: int) -> dict:
        return {
            "trailer": {**EXAMPLE["trailer"], "plate": f"12R-012.{n:02d}"},
            "containers": [container(2 * n), container(2 * n + 1, size="20")],
            "quarantine_certificates": [quarantine_certificate()],
            "health_declaration": HEALTHY,
        }

    waiting = DeclarationFactory(n=1, stage=Stage.IN_YARD, **full(1))
    crossed = DeclarationFactory(n=2, stage=Stage.CROSSED, **full(2))
    EpidemicMode.objects.create(
        reason="Quyết định 12/QĐ-UBND", valid_from=timezone.now() - timedelta(hours=1), fever_threshold_c="37.5"
    )
    inspected = DeclarationFactory(
        n=3, stage=Status.INSPECTION, health_declaration={**HEALTHY, "temperature_c": "38.4", "symptoms": True}
    )
    declarations = read(waiting.company, [waiting, crossed, inspected])
    assert declarations[0].fee and declarations[0].yard and declarations[1].lane
    assert declarations[2].inspections.all()

    # A queue position and call estimate as a waiting vehicle has them.
    ours, theirs = both(declarations, queue={waiting.id: (1, timezone.now() + timedelta(minutes=7))})

    assert ours == theirs
    assert [list(data) for data in ours] == [list(data) for data in theirs]  # the same order of fields
    rendered = JSONRenderer().render
    assert json.loads(rendered(ours)) == json.loads(rendered(theirs))
    assert ours[0]["queue_position"] == 1 and ours[0]["trailer"]["plate"]
    assert ours[1]["crossed_at"].endswith("Z") and ours[1]["fee"]["coefficients"]
    assert ours[2]["inspections"] and ours[2]["goods"][0]["quantity"]


def test_a_page_from_the_api_is_the_serializers(api, company, reference):
    DeclarationFactory(n=4, company=company, stage=Stage.CALLED)
    DeclarationFactory(n=5, company=company, stage=Status.CHECKING)

    page = api.get("/api/v1/declarations/?limit=50").json()["results"]

    declarations = read(company, Declaration.objects.filter(company=company).order_by("-id"))
    _ours, theirs = both(declarations)
    assert page == json.loads(JSONRenderer().render(theirs))
