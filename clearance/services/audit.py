"""The audit trail as evidence: signed anchors over every chain, and the proof of it all.

The lifecycle appends declarations' events (clearance.services.lifecycle), the ledger every other chain
(clearance.services.ledger). This module anchors all the chains' heads periodically (summing up the
barrier's decisions first) and verifies chains, records and anchors for ``manage.py verify_audit``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from clearance import audit_chain
from clearance.models import AuditAnchor, AuditChainHead, AuditRecord, Declaration, DeclarationEvent, LaneEvent
from clearance.services import ledger
from vehicles.models import local_date

logger = logging.getLogger(__name__)


def _signing_key() -> bytes:
    configured = settings.SMARTGATE_AUDIT_SIGNING_KEY
    if configured:
        return configured.encode()
    # Derived, so the secret key itself never signs anything directly.
    return hashlib.sha256(f"smartgate.audit-anchor:{settings.SECRET_KEY}".encode()).digest()


def _heads(*, last_event_id: int) -> Iterator[tuple[int, int, str]]:
    """(declaration id, seq, hash) of each chain's last event with an id up to ``last_event_id``."""
    current: tuple[int, int, str] | None = None
    rows = (
        DeclarationEvent.objects.filter(id__lte=last_event_id)
        .order_by("declaration_id", "seq")
        .values_list("declaration_id", "seq", "hash")
    )
    for row in rows.iterator(chunk_size=5000):
        if current is not None and row[0] != current[0]:
            yield current
        current = row
    if current is not None:
        yield current


def _record_heads(*, last_record_id: int) -> Iterator[tuple[str, int, str]]:
    """(chain, seq, hash) of each record chain's last record with an id up to ``last_record_id``."""
    current: tuple[str, int, str] | None = None
    rows = (
        AuditRecord.objects.filter(id__lte=last_record_id).order_by("chain", "seq").values_list("chain", "seq", "hash")
    )
    for row in rows.iterator(chunk_size=5000):
        if current is not None and row[0] != current[0]:
            yield current
        current = row
    if current is not None:
        yield current


def _root(*, last_event_id: int, last_record_id: int = 0) -> tuple[str, int, int]:
    """The Merkle root over the chains' heads (declarations' first, then the ledger's), with how many
    chains and links it covers."""
    leaves, links = [], 0
    for declaration_id, seq, head in _heads(last_event_id=last_event_id):
        leaves.append(audit_chain.head_leaf(declaration_id, seq, head))
        links += seq
    for chain, seq, head in _record_heads(last_record_id=last_record_id):
        leaves.append(audit_chain.record_chain_leaf(chain, seq, head))
        links += seq
    return audit_chain.merkle_root(leaves), len(leaves), links


@transaction.atomic
def audit_anchor_create(*, now: datetime | None = None) -> AuditAnchor | None:
    """Anchor every chain as it stands: the root over their heads, signed and stored, and logged so a
    copy lives outside the database. The barrier's decisions are summed up into their lanes' chains
    first. None when nothing was written since the last anchor."""
    now = now or timezone.now()
    ledger.gate_decisions_summarize(now=now)
    last_event_id = DeclarationEvent.objects.aggregate(last=Max("id"))["last"] or 0
    last_record_id = AuditRecord.objects.aggregate(last=Max("id"))["last"] or 0
    previous = AuditAnchor.objects.order_by("-id").first()
    if previous is not None and (previous.last_event_id, previous.last_record_id) == (last_event_id, last_record_id):
        return None
    root, chains, events = _root(last_event_id=last_event_id, last_record_id=last_record_id)
    anchor = AuditAnchor(
        created_at=now,
        last_event_id=last_event_id,
        last_record_id=last_record_id,
        chains=chains,
        events=events,
        root=root,
    )
    anchor.signature = audit_chain.sign(_signing_key(), anchor.message)
    anchor.save(force_insert=True)
    if previous is not None and local_date(previous.created_at) < local_date(anchor.created_at):
        daily_head_export(previous)  # the first anchor of a day: the one before was its day's head
    logger.info(
        "audit.anchor",
        extra={
            "anchor": anchor.id,
            "root": root,
            "last_event": last_event_id,
            "last_record": last_record_id,
            "chains": chains,
            "events": events,
        },
    )
    return anchor


def daily_head_export(anchor: AuditAnchor) -> None:
    """The last anchor of a day, exported to keep outside the system: a log line always, and a JSON line
    appended to SMARTGATE_AUDIT_EXPORT_FILE when it is set."""
    line = {"day": local_date(anchor.created_at).isoformat(), **anchor_export(anchor)}
    logger.info("audit.daily_head", extra=line)
    if settings.SMARTGATE_AUDIT_EXPORT_FILE:
        with open(settings.SMARTGATE_AUDIT_EXPORT_FILE, "a", encoding="utf-8") as export:
            export.write(json.dumps(line) + "\n")


def anchor_export(anchor: AuditAnchor) -> dict:
    """An anchor as it is kept outside the system (one JSON line each)."""
    return {
        "id": anchor.id,
        "created_at": anchor.created_at.isoformat(),
        "last_event_id": anchor.last_event_id,
        "last_record_id": anchor.last_record_id,
        "chains": anchor.chains,
        "events": anchor.events,
        "root": anchor.root,
        "signature": anchor.signature,
    }


@dataclass
class AuditReport:
    chains: int = 0
    events: int = 0
    anchors: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def _walk(links, *, noun: str, where, content, vouched=None) -> tuple[str, str]:
    """Follow one chain link by link: (its first problem or "", the last hash reached).
    ``noun`` names a link ("event", "record"); ``vouched(link)`` compares it with what it records."""
    head = audit_chain.GENESIS
    for expected_seq, link in enumerate(links, start=1):
        at = where(link)
        if link.seq != expected_seq:
            return f"{at}: expected seq {expected_seq}: {_a(noun)} was removed or reordered", head
        if link.prev_hash != head:
            return f"{at}: does not follow the {noun} before it (removed or reordered)", head
        if audit_chain.link(head, content(link)) != link.hash:
            return f"{at}: its content was changed after it was written", head
        problem = vouched(link) if vouched else ""
        if problem:
            return f"{at}: {problem}", head
        head = link.hash
    return "", head


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _verify_chain(declaration: Declaration, events: list[DeclarationEvent], report: AuditReport) -> None:
    problem, head = _walk(
        events,
        noun="event",
        where=lambda event: (
            f"declaration {declaration.id} ({declaration.reference}) event id {event.id} seq {event.seq}"
        ),
        content=audit_chain.content_of,
    )
    if problem:
        report.problems.append(problem)
    elif (declaration.audit_seq, declaration.audit_head or audit_chain.GENESIS) != (len(events), head):
        report.problems.append(
            f"declaration {declaration.id} ({declaration.reference}): the trail ends at seq {len(events)} but "
            f"the declaration's head is seq {declaration.audit_seq}: events at the end were removed"
        )


def audit_verify(*, since: datetime | None = None) -> AuditReport:
    """Walk every chain (of declarations with an event since ``since``, when given) and every anchor;
    the report names the first broken row of each broken chain and each anchor that disagrees."""
    report = AuditReport()
    declarations = Declaration.objects.order_by("id").only("id", "reference", "audit_seq", "audit_head")
    if since is not None:
        declarations = declarations.filter(events__at__gte=since).distinct()
    for declaration in declarations.iterator(chunk_size=500):
        events = list(DeclarationEvent.objects.filter(declaration_id=declaration.id).order_by("seq", "id"))
        report.chains += 1
        report.events += len(events)
        _verify_chain(declaration, events, report)
    _verify_records(since=since, report=report)
    anchors = AuditAnchor.objects.order_by("id")
    if since is not None:
        anchors = anchors.filter(created_at__gte=since)
    key = _signing_key()
    for anchor in anchors:
        report.anchors += 1
        if not audit_chain.signature_valid(key, anchor.message, anchor.signature):
            report.problems.append(f"anchor {anchor.id} of {anchor.created_at.isoformat()}: bad signature")
            continue
        root = _root(last_event_id=anchor.last_event_id, last_record_id=anchor.last_record_id)
        if root != (anchor.root, anchor.chains, anchor.events):
            report.problems.append(
                f"anchor {anchor.id} of {anchor.created_at.isoformat()}: the chains no longer give its root: "
                f"events up to id {anchor.last_event_id} or records up to id {anchor.last_record_id} were "
                f"changed, removed or rewritten"
            )
    return report


def _verify_record_chain(head: AuditChainHead, records: list[AuditRecord], report: AuditReport) -> None:
    problem, last = _walk(
        records,
        noun="record",
        where=lambda record: (
            f"audit record id {record.id} ({record.chain} seq {record.seq}, {record.kind} {record.subject})"
        ),
        content=audit_chain.record_content,
        vouched=_what_it_records_differs,
    )
    if problem:
        report.problems.append(problem)
    elif (head.seq, head.head) != (len(records), last):
        report.problems.append(
            f"audit chain {head.chain}: ends at seq {len(records)} but its head is seq {head.seq}: records at "
            f"the end were removed"
        )


def _what_it_records_differs(record: AuditRecord) -> str:
    """Compare a record with the rows it vouches for; the problem found, or ''."""
    data = record.data
    if record.kind == AuditRecord.Kind.LANE_EVENT:
        event = LaneEvent.objects.filter(id=data["lane_event"]).first()
        if event is None:
            return f"lane event {data['lane_event']} it records was removed"
        if ledger.lane_event_fields(event) != data:
            return f"lane event {event.id} was changed after it was recorded"
    elif record.kind == AuditRecord.Kind.REFERENCE_CHANGE:
        history_model = apps.get_model(data["model"]).history.model
        digest = ledger.history_row_digest(history_model, data["history_id"])
        if digest is None:
            return f"history row {data['history_id']} of {data['model']} it records was removed"
        if digest != data["row"]:
            return f"history row {data['history_id']} of {data['model']} was changed after it was recorded"
    elif record.kind == AuditRecord.Kind.GATE_DECISIONS:
        lane_id = int(record.chain.split(":", 1)[1])
        rows = list(ledger.gate_decision_rows(lane_id=lane_id, after_id=data["from_id"], up_to_id=data["to_id"]))
        if (len(rows), audit_chain.digest(rows)) != (data["count"], data["digest"]):
            return (
                f"the barrier decisions with ids {data['from_id'] + 1}–{data['to_id']} no longer match their "
                f"summary: a decision was changed, removed or added"
            )
    return ""


def _verify_records(*, since: datetime | None, report: AuditReport) -> None:
    heads = AuditChainHead.objects.order_by("chain")
    if since is not None:
        heads = heads.filter(chain__in=AuditRecord.objects.filter(at__gte=since).values("chain"))
    for head in heads.iterator(chunk_size=500):
        records = list(AuditRecord.objects.filter(chain=head.chain).order_by("seq", "id"))
        report.chains += 1
        report.events += len(records)
        _verify_record_chain(head, records, report)
