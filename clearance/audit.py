"""Who acted: the actor every audit event names (the events themselves are written by the lifecycle)."""

from __future__ import annotations

from dataclasses import dataclass

from clearance.models import DeclarationEvent


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

    @classmethod
    def for_device(cls, device) -> Actor:
        return cls(kind=DeclarationEvent.ActorKind.DEVICE, name=device.source)
