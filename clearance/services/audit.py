"""The audit trail as evidence: signed anchors over every declaration's chain, and the proof of it all.

The lifecycle appends events (clearance.services.lifecycle); this module only reads them back: it anchors
the chains' heads periodically and verifies chains and anchors for ``manage.py verify_audit``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from clearance import audit_chain
from clearance.models import AuditAnchor, Declaration, DeclarationEvent

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


def _root(*, last_event_id: int) -> tuple[str, int, int]:
    """The Merkle root over the chains' heads, with how many chains and events it covers."""
    leaves, events = [], 0
    for declaration_id, seq, head in _heads(last_event_id=last_event_id):
        leaves.append(audit_chain.head_leaf(declaration_id, seq, head))
        events += seq
    return audit_chain.merkle_root(leaves), len(leaves), events


@transaction.atomic
def audit_anchor_create(*, now: datetime | None = None) -> AuditAnchor | None:
    """Anchor every chain as it stands: the root over their heads, signed and stored, and logged so a
    copy lives outside the database. None when nothing was written since the last anchor."""
    last_event_id = DeclarationEvent.objects.aggregate(last=Max("id"))["last"] or 0
    previous = AuditAnchor.objects.order_by("-id").first()
    if previous is not None and previous.last_event_id == last_event_id:
        return None
    root, chains, events = _root(last_event_id=last_event_id)
    anchor = AuditAnchor(
        created_at=now or timezone.now(), last_event_id=last_event_id, chains=chains, events=events, root=root
    )
    anchor.signature = audit_chain.sign(_signing_key(), anchor.message)
    anchor.save(force_insert=True)
    logger.info(
        "audit.anchor",
        extra={"anchor": anchor.id, "root": root, "last_event": last_event_id, "chains": chains, "events": events},
    )
    return anchor


def anchor_export(anchor: AuditAnchor) -> dict:
    """An anchor as it is kept outside the system (one JSON line each)."""
    return {
        "id": anchor.id,
        "created_at": anchor.created_at.isoformat(),
        "last_event_id": anchor.last_event_id,
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


def _verify_chain(declaration: Declaration, events: list[DeclarationEvent], report: AuditReport) -> None:
    head = audit_chain.GENESIS
    for expected_seq, event in enumerate(events, start=1):
        where = f"declaration {declaration.id} ({declaration.reference}) event id {event.id} seq {event.seq}"
        if event.seq != expected_seq:
            report.problems.append(f"{where}: expected seq {expected_seq}: an event was removed or reordered")
            return
        if event.prev_hash != head:
            report.problems.append(f"{where}: does not follow the event before it (removed or reordered)")
            return
        if audit_chain.link(head, audit_chain.content_of(event)) != event.hash:
            report.problems.append(f"{where}: its content was changed after it was written")
            return
        head = event.hash
    if (declaration.audit_seq, declaration.audit_head or audit_chain.GENESIS) != (len(events), head):
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
    anchors = AuditAnchor.objects.order_by("id")
    if since is not None:
        anchors = anchors.filter(created_at__gte=since)
    key = _signing_key()
    for anchor in anchors:
        report.anchors += 1
        if not audit_chain.signature_valid(key, anchor.message, anchor.signature):
            report.problems.append(f"anchor {anchor.id} of {anchor.created_at.isoformat()}: bad signature")
            continue
        if _root(last_event_id=anchor.last_event_id) != (anchor.root, anchor.chains, anchor.events):
            report.problems.append(
                f"anchor {anchor.id} of {anchor.created_at.isoformat()}: the chains no longer give its root: "
                f"events up to id {anchor.last_event_id} were changed, removed or rewritten"
            )
    return report
