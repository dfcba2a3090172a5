"""The audit chains beyond declarations: lane actions, reference-data changes and summaries of the
barrier's decisions are chained too, anchored with the declarations' chains, and ``verify_audit`` names
the row an insider changed, removed or reordered behind the application's back."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from clearance import audit_chain
from clearance.audit import Actor
from clearance.models import AuditAnchor, AuditChainHead, AuditRecord, GateDecision, HsRiskRule, LaneEvent
from clearance.services.audit import audit_anchor_create, audit_verify
from clearance.services.gate import gate_decide
from clearance.services.lanes import lane_set_open
from tests.clearance.test_audit_trail import postgres_only, raw
from vehicles.models import LOCAL_TZ, GateDevice, Lane

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture
def lane(reference) -> Lane:
    return Lane.objects.get(code="1119-EX1")


@pytest.fixture
def closed(lane, django_user_model) -> LaneEvent:
    operator = django_user_model.objects.create_user("operator-1")
    lane_set_open(lane_id=lane.id, is_open=False, actor=Actor.for_user(operator), reason="Barrier arm broken")
    return LaneEvent.objects.get(lane=lane)


@pytest.fixture
def decisions(lane) -> list[GateDecision]:
    """Three plates read at the lane's barrier, none declared: three holds."""
    device = GateDevice.objects.create(kind=GateDevice.Kind.LANE_GATE, lane=lane, name="cam-ex1")
    return [
        gate_decide(device=device, plate=f"29H-{n:03d}.45", read_at=timezone.now(), confidence=Decimal("0.99"))
        for n in range(3)
    ]


def anchor_later() -> AuditAnchor:
    """An anchor made once the decisions have settled (they are summed up a minute after)."""
    return audit_anchor_create(now=timezone.now() + timedelta(minutes=2))


def problems() -> list[str]:
    return audit_verify().problems


def chain_of(kind: str) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(kind=kind).order_by("chain", "seq"))


def test_a_lane_action_is_a_link_in_the_lanes_chain(closed, lane):
    (record,) = chain_of(AuditRecord.Kind.LANE_EVENT)

    assert (record.chain, record.seq, record.subject, record.actor) == (f"lane:{lane.id}", 1, "1119-EX1", "operator-1")
    assert (record.data["event"], record.data["reason"]) == ("closed", "Barrier arm broken")
    assert AuditChainHead.objects.get(chain=record.chain).head == record.hash
    assert problems() == []


def test_a_changed_lane_event_is_named(closed):
    raw("UPDATE clearance_laneevent SET reason = %s WHERE id = %s", ["Routine maintenance", closed.id])

    assert problems() == [
        f"audit record id {chain_of('lane_event')[0].id} (lane:{closed.lane_id} seq 1, lane_event 1119-EX1): "
        f"lane event {closed.id} was changed after it was recorded"
    ]


def test_a_reference_change_is_chained_with_its_reason_and_a_digest_of_the_history_row():
    rule = HsRiskRule(hs_prefix="8517", weight=35, description="Smartphones under-declared")
    rule._change_reason = "Phones under-declared since May"
    rule.save()

    record = AuditRecord.objects.get(chain="reference:clearance.hsriskrule")
    assert (record.kind, record.subject) == (AuditRecord.Kind.REFERENCE_CHANGE, f"clearance.hsriskrule:{rule.id}")
    assert (record.data["type"], record.data["reason"]) == ("+", "Phones under-declared since May")
    assert problems() == []


def test_a_history_row_changed_behind_the_application_is_named():
    rule = HsRiskRule.objects.create(hs_prefix="8517", weight=35, description="Smartphones")
    history_id = rule.history.get().history_id
    raw("UPDATE clearance_historicalhsriskrule SET weight = 5 WHERE history_id = %s", [history_id])

    (problem,) = problems()
    assert problem.endswith(f"history row {history_id} of clearance.hsriskrule was changed after it was recorded")


def test_the_barriers_decisions_are_summed_up_per_lane_at_the_anchor(decisions, lane):
    anchor = anchor_later()

    (summary,) = chain_of(AuditRecord.Kind.GATE_DECISIONS)
    assert summary.chain == f"gate:{lane.id}"
    assert (summary.data["count"], summary.data["by_decision"]) == (3, {"hold": 3})
    assert summary.data["by_reason"] == {"not_declared": 3}
    assert (summary.data["from_id"], summary.data["to_id"]) == (0, decisions[-1].id)
    assert anchor.last_record_id == AuditRecord.objects.latest("id").id
    assert anchor_later() is None  # nothing new: no second summary, no second anchor
    assert problems() == []


def test_decisions_not_yet_settled_wait_for_the_next_anchor(decisions):
    audit_anchor_create(now=timezone.now())

    assert chain_of(AuditRecord.Kind.GATE_DECISIONS) == []


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE clearance_gatedecision SET decision = 'open', reasons = '[]' WHERE id = %s",
        "DELETE FROM clearance_gatedecision WHERE id = %s",
    ],
)
def test_a_changed_or_removed_barrier_decision_is_named(decisions, tamper):
    anchor_later()

    raw(tamper, [decisions[1].id])

    (problem,) = problems()
    assert f"the barrier decisions with ids 1–{decisions[-1].id} no longer match their summary" in problem


def test_a_removed_record_in_the_middle_of_a_chain_is_named(lane, django_user_model):
    actor = Actor.system("gate")
    for is_open in (False, True, False):
        lane_set_open(lane_id=lane.id, is_open=is_open, actor=actor, reason="shift")
    second = AuditRecord.objects.get(chain=f"lane:{lane.id}", seq=2)

    raw("DELETE FROM clearance_auditrecord WHERE id = %s", [second.id])

    (problem,) = problems()
    assert f"(lane:{lane.id} seq 3, lane_event 1119-EX1): expected seq 2" in problem


def test_a_removed_last_record_is_seen_against_the_chains_head(closed):
    raw("DELETE FROM clearance_auditrecord WHERE chain = %s", [f"lane:{closed.lane_id}"])

    assert problems() == [
        f"audit chain lane:{closed.lane_id}: ends at seq 0 but its head is seq 1: records at the end were removed"
    ]


def test_a_lane_chain_rewritten_whole_is_caught_by_the_anchor(closed):
    anchor = audit_anchor_create()
    record = chain_of(AuditRecord.Kind.LANE_EVENT)[0]
    # An insider rewrites the lane event and recomputes its record and the chain's head consistently.
    raw("UPDATE clearance_laneevent SET reason = 'Routine' WHERE id = %s", [closed.id])
    record.data = {**record.data, "reason": "Routine"}
    new_hash = audit_chain.link(record.prev_hash, audit_chain.record_content(record))
    raw(
        "UPDATE clearance_auditrecord SET data = %s, hash = %s WHERE id = %s",
        [json.dumps(record.data), new_hash, record.id],
    )
    raw("UPDATE clearance_auditchainhead SET head = %s WHERE chain = %s", [new_hash, record.chain])

    assert problems() == [
        f"anchor {anchor.id} of {anchor.created_at.isoformat()}: the chains no longer give its root: events up to "
        f"id {anchor.last_event_id} or records up to id {anchor.last_record_id} were changed, removed or rewritten"
    ]


@postgres_only
@pytest.mark.parametrize("table", ["clearance_auditrecord", "clearance_laneevent", "clearance_gatedecision"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
@pytest.mark.usefixtures("closed", "decisions")
def test_the_database_refuses_to_edit_or_delete_audit_rows(table, statement):
    anchor_later()

    with pytest.raises(DatabaseError, match="Cannot"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=table))


def test_each_days_head_is_published_and_exported_to_keep_outside(lane, settings, tmp_path, caplog):
    settings.SMARTGATE_AUDIT_EXPORT_FILE = str(tmp_path / "daily-heads.jsonl")
    day_one = datetime(2026, 11, 28, 10, 0, tzinfo=LOCAL_TZ)
    made = []
    for at, is_open in ((day_one, False), (day_one + timedelta(hours=5), True), (day_one + timedelta(hours=15), False)):
        with time_machine.travel(at, tick=False):
            lane_set_open(lane_id=lane.id, is_open=is_open, actor=Actor.system("gate"), reason="shift")
            made.append(audit_anchor_create())

    exported = [json.loads(line) for line in (tmp_path / "daily-heads.jsonl").read_text().splitlines()]
    assert [(line["day"], line["id"], line["root"]) for line in exported] == [("2026-11-28", made[1].id, made[1].root)]
    assert [r.message for r in caplog.records if r.message == "audit.daily_head"] == ["audit.daily_head"]
    with time_machine.travel(day_one + timedelta(hours=16), tick=False):
        published = APIClient().get("/api/v1/audit/daily-heads/?days=2")
    assert published.status_code == 200
    assert [(head["day"], head["id"], head["signature"]) for head in published.json()] == [
        ("2026-11-29", made[2].id, made[2].signature),
        ("2026-11-28", made[1].id, made[1].signature),
    ]


@pytest.mark.parametrize("days", ["0", "367", "many"])
def test_the_daily_heads_say_how_many_days_may_be_asked(days):
    response = APIClient().get(f"/api/v1/audit/daily-heads/?days={days}")

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["days"]
