"""Change notices from the customs system: the crossings carrying a changed VNACCS declaration are
checked again (before the lane) or held for an officer (in a lane). Idempotent by message id."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from clearance.audit import Actor
from clearance.models import (
    CustomsDeclaration,
    CustomsNotification,
    CustomsSystemAPIKey,
    CustomsSystemClient,
    Declaration,
    DeclarationEvent,
    Fee,
)
from clearance.services import lifecycle
from clearance.services.checks import checks_start

logger = logging.getLogger(__name__)


Outcome = CustomsNotification.Outcome

# Statuses a crossing before the lane is checked again from; a held one waits for its officer, a
# cancelled one is over.
_RECHECKABLE = {
    Declaration.Status.SUBMITTED,
    Declaration.Status.CHECKING,
    Declaration.Status.INSPECTION,
    Declaration.Status.CLEARED,
    Declaration.Status.REJECTED,
}
_HOLDABLE_IN_LANE = {Declaration.Status.CLEARED, Declaration.Status.INSPECTION}


def customs_client_create(*, name: str) -> tuple[CustomsSystemClient, str]:
    """A customs system client and its first key (returned once)."""
    client = CustomsSystemClient.objects.create(name=name)
    _api_key, key = CustomsSystemAPIKey.objects.create_key(name=name, client=client)
    return client, key


def _actor(client: CustomsSystemClient) -> Actor:
    return Actor(kind=DeclarationEvent.ActorKind.SYSTEM, name=f"customs:{client.name}")


def _apply(declaration: Declaration, *, notification: CustomsNotification, actor: Actor) -> str:
    recheckable = declaration.is_before_lane and declaration.status in _RECHECKABLE
    holdable = declaration.stage == Declaration.Stage.IN_LANE and declaration.status in _HOLDABLE_IN_LANE
    if not (recheckable or holdable):
        return Outcome.UNCHANGED
    reason = f"Customs declaration {notification.number}: {notification.get_change_display().lower()}."
    if notification.detail:
        reason = f"{reason} {notification.detail}"
    data = {"number": notification.number, "change": notification.change, "message_id": notification.message_id}
    if not lifecycle.declaration_customs_changed(declaration=declaration, actor=actor, reason=reason, data=data):
        return Outcome.HELD
    # An unpaid fee was computed from what is checked again: it is issued again at the next clearance.
    Fee.objects.filter(declaration=declaration, status=Fee.Status.ISSUED).delete()
    checks_start(declaration=declaration, actor=actor)
    return Outcome.RECHECKING


def customs_notification_receive(
    *, client: CustomsSystemClient, message_id: str, number: str, change: str, detail: str = ""
) -> tuple[CustomsNotification, bool]:
    """Record the notice and act on every active crossing carrying ``number``; a message id already
    received returns its first record untouched. Returns (notification, created)."""
    existing = CustomsNotification.objects.filter(client=client, message_id=message_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            notification = CustomsNotification.objects.create(
                client=client, message_id=message_id, number=number, change=change, detail=detail
            )
            actor = _actor(client)
            linked = CustomsDeclaration.objects.filter(number=number, is_active=True).values_list(
                "declaration_id", flat=True
            )
            results = []
            for declaration in (
                Declaration.objects.select_for_update(of=("self",))
                .select_related("route__gate", "company")
                .filter(id__in=list(linked))
                .order_by("id")
            ):
                outcome = _apply(declaration, notification=notification, actor=actor)
                results.append({"id": declaration.id, "reference": declaration.reference, "outcome": outcome})
            notification.results = results
            notification.save(update_fields=["results"])
    except IntegrityError:
        # The same message arrived twice at once: the other one recorded it.
        return CustomsNotification.objects.get(client=client, message_id=message_id), False
    logger.info("customs.notification", extra={"message_id": message_id, "number": number, "results": results})
    return notification, True
