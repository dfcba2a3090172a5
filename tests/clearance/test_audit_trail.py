"""The audit trail is evidence: chained per declaration, append-only in PostgreSQL, anchored and proven.

Tampering is done the way an insider with database access would: raw SQL with the append-only trigger
switched off. ``verify_audit`` must then name the first broken row.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from clearance import audit_chain
from clearance.models import AuditAnchor, AuditChainHead, AuditRecord, Declaration, DeclarationEvent
from clearance.services.audit import audit_anchor_create

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="append-only triggers are PostgreSQL's")


@pytest.fixture
def trail(declare, django_capture_on_commit_callbacks) -> Declaration:
    """A declaration whose checks ran: a trail of several events (submitted, checks, decision, fee...)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = declare()
    assert response.status_code == 201, response.json()
    declaration = Declaration.objects.get(id=response.json()["id"])
    assert declaration.events.count() >= 6
    return declaration


def records() -> int:
    return AuditRecord.objects.count()


def verify() -> tuple[bool, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except CommandError as error:
        return False, f"{error}\n{err.getvalue()}"
    return True, out.getvalue()


def raw(sql: str, params: list) -> None:
    """Change the trail behind the application's back, trigger off, as an insider could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # user triggers off for this session
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")


def test_each_event_links_to_the_one_before_it(trail):
    events = list(trail.events.order_by("seq"))

    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == audit_chain.GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:], strict=False))
    trail.refresh_from_db()
    assert (trail.audit_seq, trail.audit_head) == (events[-1].seq, events[-1].hash)


def test_an_untouched_trail_verifies(trail):
    audit_anchor_create()

    intact, output = verify()

    assert intact, output
    chains = 1 + AuditChainHead.objects.count()  # the declaration's, and the reference data's loaded
    assert f"{chains} chains" in output and "1 anchors" in output


@postgres_only
@pytest.mark.parametrize(
    "statement", ["UPDATE clearance_declarationevent SET reason = 'x'", "DELETE FROM clearance_declarationevent"]
)
def test_the_database_refuses_to_edit_or_delete_an_event(trail, statement):
    with pytest.raises(DatabaseError, match="Cannot"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"{statement} WHERE declaration_id = %s", [trail.id])

    assert verify()[0]


@postgres_only
def test_an_anchor_cannot_be_edited_either(trail):
    anchor = audit_anchor_create()

    with pytest.raises(DatabaseError, match="Cannot"), transaction.atomic():
        AuditAnchor.objects.filter(id=anchor.id).update(root="0" * 64)


def test_a_changed_event_is_named(trail):
    event = trail.events.order_by("seq")[2]
    raw("UPDATE clearance_declarationevent SET reason = %s WHERE id = %s", ["Nothing to see here.", event.id])

    intact, output = verify()

    assert not intact
    assert f"event id {event.id} seq {event.seq}: its content was changed" in output


def test_a_removed_event_in_the_middle_is_named(trail):
    removed = trail.events.order_by("seq")[1]
    raw("DELETE FROM clearance_declarationevent WHERE id = %s", [removed.id])

    intact, output = verify()

    assert not intact
    assert f"expected seq {removed.seq}" in output


def test_a_removed_last_event_is_seen_against_the_head(trail):
    last = trail.events.order_by("-seq").first()
    raw("DELETE FROM clearance_declarationevent WHERE id = %s", [last.id])

    intact, output = verify()

    assert not intact
    assert f"ends at seq {last.seq - 1}" in output and "removed" in output


def test_reordered_events_are_named(trail):
    first, second = trail.events.order_by("seq")[1:3]
    raw("UPDATE clearance_declarationevent SET seq = 0 WHERE id = %s", [first.id])
    raw("UPDATE clearance_declarationevent SET seq = %s WHERE id = %s", [first.seq, second.id])
    raw("UPDATE clearance_declarationevent SET seq = %s WHERE id = %s", [second.seq, first.id])

    intact, output = verify()

    assert not intact
    assert f"event id {second.id} seq {first.seq}: does not follow the event before it" in output


def test_a_chain_rewritten_whole_is_caught_by_the_anchor(trail):
    """Recomputing every hash of a chain after an edit makes the chain consistent again, but the anchor
    made before (and kept outside) no longer matches."""
    audit_anchor_create()
    head = audit_chain.GENESIS
    for event in trail.events.order_by("seq"):
        if event.seq == 2:
            event.reason = "Rewritten."
        content = audit_chain.canonical(
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
        new_hash = audit_chain.link(head, content)
        raw(
            "UPDATE clearance_declarationevent SET reason = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [event.reason, head, new_hash, event.id],
        )
        head = new_hash
    Declaration.objects.filter(id=trail.id).update(audit_head=head)

    intact, output = verify()

    assert not intact
    assert "anchor" in output and "no longer give its root" in output
    assert "changed after it was written" not in output  # the chain itself was made consistent


def test_an_anchor_is_made_only_when_something_was_written(trail):
    first = audit_anchor_create()
    assert audit_anchor_create() is None

    assert (first.chains, first.events) == (1 + AuditChainHead.objects.count(), trail.events.count() + records())
    assert first.last_event_id == DeclarationEvent.objects.latest("id").id
    assert first.last_record_id == AuditRecord.objects.latest("id").id


def test_anchors_export_as_json_lines(trail, tmp_path):
    out = tmp_path / "anchors.jsonl"

    call_command("audit_anchors", "--out", str(out), stdout=io.StringIO())

    line = out.read_text().strip()
    anchor = AuditAnchor.objects.get()
    assert f'"root": "{anchor.root}"' in line and f'"signature": "{anchor.signature}"' in line


def test_since_limits_the_walk_to_recent_chains(trail):
    out = io.StringIO()

    call_command("verify_audit", "--since", "2999-01-01", stdout=out)

    assert "0 chains" in out.getvalue()


def test_since_must_be_a_date():
    with pytest.raises(CommandError, match="not a date"):
        call_command("verify_audit", "--since", "yesterday")
