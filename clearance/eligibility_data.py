"""The goods groups the Móng Cái – Đông Hưng smart-gate decision (164/QĐ-TTg, 26 January 2026) names: the
sample an installation starts from (seeded by migration 0026), which the board edits in the admin
(Smart-lane goods groups), every change kept with its reason."""

SMART_LANE_GROUPS = [
    ("Agricultural produce (nông sản)", ["06", "07", "08", "09", "10", "11", "12", "13", "14"]),
    ("Frozen seafood (thủy sản đông lạnh)", ["0303", "0304", "0306", "0307", "0308"]),
    ("Electronics (điện tử)", ["85", "8471"]),
]


def smart_lane_groups_seed(group_model) -> None:
    """Add the sample groups that are missing (``group_model``: the model, or a migration's historical one)."""
    for name, prefixes in SMART_LANE_GROUPS:
        group_model.objects.get_or_create(name=name, defaults={"hs_prefixes": prefixes})
