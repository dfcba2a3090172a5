"""Smart-lane eligibility: whether a crossing's goods may be called to a smart lane (the rule is data:
``SmartLaneGoodsGroup``). Ineligible crossings are called only to traditional lanes, and the forwarder
reads why on the declaration."""

from __future__ import annotations

from clearance.models import Declaration, SmartLaneGoodsGroup
from clearance.process_caches import smart_lane_groups


def smart_lane_eligibility(
    *, kind: str, hs_codes: list[str], groups: list[SmartLaneGoodsGroup] | None = None
) -> tuple[bool, str]:
    """``(eligible, reason)``: eligible when every goods line falls in an active goods group. An empty
    truck carries no goods a group could rule out: it is eligible."""
    if kind == Declaration.Kind.EMPTY_RETURN:
        return True, ""
    if groups is None:
        groups = smart_lane_groups()
    outside = sorted({code for code in hs_codes if not any(group.covers(code) for group in groups)})
    if not outside:
        return True, ""
    names = ", ".join(group.name for group in groups) or "none at present"
    return False, (
        f"HS {', '.join(outside)} is in no goods group eligible for the smart lanes ({names}): "
        f"the vehicle is called to a traditional lane."
    )


def declaration_lane_eligibility_set(
    declaration: Declaration, *, hs_codes: list[str], groups: list[SmartLaneGoodsGroup] | None = None
) -> list[str]:
    """Set the declaration's eligibility from the goods now declared; returns the fields to save."""
    declaration.smart_lane_eligible, declaration.smart_lane_reason = smart_lane_eligibility(
        kind=declaration.kind, hs_codes=hs_codes, groups=groups
    )
    return ["smart_lane_eligible", "smart_lane_reason"]
