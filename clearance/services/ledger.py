"""The audit ledger: every audit chain other than a declaration's own events.

- a lane's actions (opened, closed, switched), chain ``lane:<id>``, one record per LaneEvent;
- reference-data changes (risk rules, watchlist, tariff, ratings, lanes, slots, devices: every model with a
  django-simple-history ``history``), chain ``reference:<app.model>``, one record per historical row,
  holding a digest of that row;
- the barrier's decisions, chain ``gate:<lane id>``: a summary per lane at each anchor (how many, by
  decision and reason, and a digest of the rows), so the hot path of the gate writes nothing more.

Appending locks the chain's head row only: two lanes, or a lane and a rule, never wait for each other.
The records are checked against what they sum up by ``services.audit.audit_verify``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import datetime, timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from clearance import audit_chain
from clearance.audit import Actor
from clearance.models import AuditChainHead, AuditRecord, GateDecision, LaneEvent
from vehicles.models import Lane

logger = logging.getLogger(__name__)

Kind = AuditRecord.Kind

# A decision is summed up once it is this old, so a transaction still open cannot commit a decision with
# a lower id into a range already summed up.
DECISIONS_SETTLE = timedelta(minutes=1)

GATE_DECISION_FIELDS = (
    "id",
    "device_id",
    "plate_read",
    "normalized_plate",
    "confidence",
    "read_at",
    "decided_at",
    "decision",
    "reasons",
    "declaration_id",
)


def record_append(
    *, chain: str, kind: str, subject: str, data: dict, actor: Actor | None = None, at: datetime | None = None
) -> AuditRecord:
    """Append one record to ``chain``, in the caller's transaction, holding the chain's head row lock."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("An audit record is appended in the transaction of the change it records.")
    head, _created = AuditChainHead.objects.select_for_update().get_or_create(
        chain=chain, defaults={"head": audit_chain.GENESIS}
    )
    record = AuditRecord(
        chain=chain,
        seq=head.seq + 1,
        at=at or timezone.now(),
        kind=kind,
        actor=actor.name if actor else "",
        user_id=actor.user_id if actor else None,
        subject=subject,
        # Hashed as it will read back from the database: JSON types only.
        data=json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
        prev_hash=head.head,
    )
    record.hash = audit_chain.link(record.prev_hash, audit_chain.record_content(record))
    record.save(force_insert=True)
    head.seq, head.head = record.seq, record.hash
    head.save(update_fields=["seq", "head"])
    return record


# --- Lane actions ----------------------------------------------------------------------------------


def lane_chain(lane_id: int) -> str:
    return f"lane:{lane_id}"


def lane_event_fields(event: LaneEvent) -> dict:
    """What a lane event's record holds of it; compared with the row again on verification."""
    return {
        "lane_event": event.id,
        "event": str(event.event),
        "reason": event.reason,
        "data": event.data,
        "actor": event.actor,
        "user": event.user_id,
    }


def lane_event_record(*, lane: Lane, actor: Actor, kind: str, reason: str = "", data: dict | None = None) -> LaneEvent:
    """A gate operator's lane action: the lane's event and its link in the lane's chain."""
    event = LaneEvent.objects.create(
        lane=lane, actor=actor.name, user_id=actor.user_id, event=kind, reason=reason, data=data or {}
    )
    event.refresh_from_db(fields=["at"])
    record_append(
        chain=lane_chain(lane.id),
        kind=Kind.LANE_EVENT,
        subject=lane.code,
        data=lane_event_fields(event),
        actor=actor,
        at=event.at,
    )
    return event


# --- Reference data --------------------------------------------------------------------------------


def reference_chain(label: str) -> str:
    return f"reference:{label}"


def history_row_digest(history_model, history_id: int) -> str | None:
    """A digest of one historical row as the database holds it; None when it is gone."""
    row = history_model.objects.filter(pk=history_id).values().first()
    return None if row is None else audit_chain.digest([row])


def reference_change_recorded(sender, *, instance, history_instance, **kwargs) -> None:
    """simple-history's post_create_historical_record: chain the new historical row."""
    model = type(instance)
    label = model._meta.label_lower
    user = history_instance.history_user
    actor = Actor.for_user(user) if user is not None else Actor.system("reference-data")
    with transaction.atomic():
        record_append(
            chain=reference_chain(label),
            kind=Kind.REFERENCE_CHANGE,
            subject=f"{label}:{instance.pk}",
            actor=actor,
            at=history_instance.history_date,
            data={
                "model": label,
                "object": str(instance.pk),
                "history_id": history_instance.pk,
                "type": history_instance.history_type,
                "reason": history_instance.history_change_reason or "",
                "row": history_row_digest(type(history_instance), history_instance.pk),
            },
        )


# --- The barrier's decisions -----------------------------------------------------------------------


def gate_chain(lane_id: int) -> str:
    return f"gate:{lane_id}"


def gate_decision_rows(*, lane_id: int, after_id: int, up_to_id: int):
    return (
        GateDecision.objects.filter(lane_id=lane_id, id__gt=after_id, id__lte=up_to_id)
        .order_by("id")
        .values(*GATE_DECISION_FIELDS)
    )


def _summarized_up_to(lane_id: int) -> int:
    last = AuditRecord.objects.filter(chain=gate_chain(lane_id)).order_by("-seq").values_list("data", flat=True)
    return last[0]["to_id"] if last else 0


@transaction.atomic
def gate_decisions_summarize(*, now: datetime | None = None) -> list[AuditRecord]:
    """Sum up, per lane, the barrier decisions made since the lane's last summary into its chain."""
    settled = (now or timezone.now()) - DECISIONS_SETTLE
    records = []
    for lane in Lane.objects.order_by("id"):
        up_to = GateDecision.objects.filter(lane=lane, decided_at__lte=settled).aggregate(last=Max("id"))["last"]
        after = _summarized_up_to(lane.id)
        if up_to is None or up_to <= after:
            continue
        rows = list(gate_decision_rows(lane_id=lane.id, after_id=after, up_to_id=up_to))
        reasons = Counter(reason for row in rows for reason in row["reasons"])
        records.append(
            record_append(
                chain=gate_chain(lane.id),
                kind=Kind.GATE_DECISIONS,
                subject=lane.code,
                actor=Actor.system("audit-anchor"),
                data={
                    "from_id": after,
                    "to_id": up_to,
                    "count": len(rows),
                    "by_decision": dict(Counter(row["decision"] for row in rows)),
                    "by_reason": dict(reasons),
                    "digest": audit_chain.digest(rows),
                },
            )
        )
    if records:
        logger.info("audit.gate_decisions_summarized", extra={"lanes": len(records)})
    return records
