"""Who acted, and the audit row every state change writes in its own transaction."""

from __future__ import annotations

from dataclasses import dataclass

from clearance.models import Declaration, DeclarationEvent


@dataclass(frozen=True)
class Actor:
    kind: str  # DeclarationEvent.ActorKind
    name: str
    company_id: int | None = None
    user_id: int | None = None

    @classmethod
    def system(cls, name: str = "smartgate") -> Actor:
        return cls(kind=DeclarationEvent.ActorKind.SYSTEM, name=name)

    @classmethod
    def for_user(cls, user) -> Actor:
        return cls(kind=DeclarationEvent.ActorKind.USER, name=user.get_username(), user_id=user.pk)


def audit_record(
    *,
    declaration: Declaration,
    actor: Actor,
    event: str,
    reason: str = "",
    data: dict | None = None,
    version: int | None = None,
) -> DeclarationEvent:
    """Write one row of the audit trail; ``version`` defaults to the declaration's current one."""
    return DeclarationEvent.objects.create(
        declaration=declaration,
        actor_kind=actor.kind,
        actor=actor.name,
        user_id=actor.user_id,
        event=event,
        reason=reason,
        version=version or declaration.version,
        data=data or {},
    )
