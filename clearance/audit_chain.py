"""The hash chain that makes the audit trail evidence: pure functions, no database.

Each declaration's events form one chain: event n stores ``sha256(hash of event n-1 + canonical content
of event n)``. A chain per declaration keeps the hot path free of a global lock (the caller already holds
the declaration's row lock). Anchors tie all chains together: a Merkle root over every chain's head,
signed with HMAC-SHA256, stored and exported, so a chain cannot be rewritten from its first event on
either without the anchor disagreeing.

Kept free of models on purpose: migrations and ``verify_audit`` compute exactly what the lifecycle did.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import UTC, datetime

GENESIS = "0" * 64


def canonical(
    *,
    declaration_id: int,
    seq: int,
    at: datetime,
    actor_kind: str,
    actor: str,
    user_id: int | None,
    event: str,
    reason: str,
    version: int,
    data: dict,
) -> str:
    """One event as the text that is hashed: sorted keys, no spaces, UTC time to the microsecond."""
    return json.dumps(
        {
            "declaration": declaration_id,
            "seq": seq,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_kind": str(actor_kind),
            "actor": actor,
            "user": user_id,
            "event": str(event),
            "reason": reason,
            "version": version,
            "data": data,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def content_of(event) -> str:
    """The canonical text of a stored (or about to be stored) DeclarationEvent."""
    return canonical(
        declaration_id=event.declaration_id,
        seq=event.seq,
        at=event.at,
        actor_kind=event.actor_kind,
        actor=event.actor,
        user_id=event.user_id,
        event=event.event,
        reason=event.reason,
        version=event.version,
        data=event.data,
    )


def record_content(record) -> str:
    """The canonical text of an AuditRecord (a chain other than a declaration's)."""
    return json.dumps(
        {
            "chain": record.chain,
            "seq": record.seq,
            "at": record.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "kind": str(record.kind),
            "actor": record.actor,
            "user": record.user_id,
            "subject": record.subject,
            "data": record.data,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def digest(rows: Iterable[dict]) -> str:
    """sha256 over rows as canonical JSON lines: what a summary record holds of the rows it sums up."""
    hasher = hashlib.sha256()
    for row in rows:
        hasher.update(json.dumps(row, sort_keys=True, separators=(",", ":"), default=str).encode())
        hasher.update(b"\n")
    return hasher.hexdigest()


def link(previous_hash: str, content: str) -> str:
    return hashlib.sha256(f"{previous_hash}\n{content}".encode()).hexdigest()


def merkle_root(leaves: Iterable[str]) -> str:
    """The Merkle root of hex leaves (pairwise sha256, the odd one out carried up); GENESIS when empty."""
    level = [bytes.fromhex(leaf) for leaf in leaves]
    if not level:
        return GENESIS
    while len(level) > 1:
        paired = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


def head_leaf(declaration_id: int, seq: int, head_hash: str) -> str:
    """A chain's head as a Merkle leaf: which chain, how long, ending where."""
    return hashlib.sha256(f"{declaration_id}:{seq}:{head_hash}".encode()).hexdigest()


def record_chain_leaf(chain: str, seq: int, head_hash: str) -> str:
    """A record chain's head as a Merkle leaf."""
    return hashlib.sha256(f"{chain}:{seq}:{head_hash}".encode()).hexdigest()


def sign(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def signature_valid(key: bytes, message: str, signature: str) -> bool:
    return hmac.compare_digest(sign(key, message), signature)
