"""The three forces' checks. Each reads a declaration and answers a Verdict; none changes state."""

from __future__ import annotations

from dataclasses import dataclass, field

from clearance.models import Check


@dataclass(frozen=True)
class Reason:
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Verdict:
    outcome: Check.Outcome
    reasons: list[Reason] = field(default_factory=list)
