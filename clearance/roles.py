"""Officers' roles: Django groups, and which force each acts for."""

from __future__ import annotations

from clearance.models import Inspection

CUSTOMS_OFFICER = "Customs officer"
BORDER_GUARD_OFFICER = "Border guard officer"
QUARANTINE_OFFICER = "Quarantine officer"
HEALTH_OFFICER = "Health quarantine officer"
GATE_OPERATOR = "Gate operator"
SUPERVISOR = "Supervisor"
FEE_ADMINISTRATOR = "Fee administrator"
ROLES = [
    CUSTOMS_OFFICER,
    BORDER_GUARD_OFFICER,
    QUARANTINE_OFFICER,
    HEALTH_OFFICER,
    GATE_OPERATOR,
    SUPERVISOR,
    FEE_ADMINISTRATOR,
]

FORCE_ROLES = {
    Inspection.Force.CUSTOMS: CUSTOMS_OFFICER,
    Inspection.Force.BORDER_GUARD: BORDER_GUARD_OFFICER,
    Inspection.Force.QUARANTINE: QUARANTINE_OFFICER,
    Inspection.Force.HEALTH: HEALTH_OFFICER,
}


def _groups(user) -> set[str]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    cached = getattr(user, "_smartgate_groups", None)
    if cached is None:
        cached = user._smartgate_groups = set(user.groups.values_list("name", flat=True))
    return cached


def user_roles(user) -> set[str]:
    """The officer roles (group names) of ``user``; none for an anonymous or inactive one."""
    return set(_groups(user))


def is_supervisor(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or SUPERVISOR in _groups(user)


def can_act_for_force(user, force: str) -> bool:
    return is_supervisor(user) or FORCE_ROLES.get(force) in _groups(user)


def is_gate_operator(user) -> bool:
    return is_supervisor(user) or GATE_OPERATOR in _groups(user)


_VIEW_DECLARATIONS = [
    "clearance.view_declaration",
    "clearance.view_declarationevent",
    "clearance.view_check",
    "clearance.view_inspection",
    "clearance.view_company",
    "vehicles.view_vehicle",
    "vehicles.view_driver",
    "vehicles.view_trailer",
    "vehicles.view_movement",
    "clearance.view_gatedecision",
    "clearance.view_fee",
    "clearance.view_customsdeclaration",
    "clearance.view_container",
    "clearance.view_goodsline",
    "clearance.view_quarantinecertificate",
    "clearance.view_crossingleg",
    "clearance.view_handover",
]
# When autonomous lanes operate: the gate management board's data.
_EDIT_LANE_WINDOWS = ["vehicles.view_lanewindow", "vehicles.add_lanewindow", "vehicles.change_lanewindow"]
# The forwarders' webhooks and their delivery log (read-only screens: a forwarder manages its own).
_VIEW_WEBHOOKS = [
    "clearance.view_webhooksubscription",
    "clearance.view_webhookdelivery",
    "clearance.view_webhookattempt",
    "clearance.view_companyevent",
]
# What each role may see and edit in the admin, least privilege: line officers act on crossings and see
# the rules they apply; supervisors change thresholds and rules; the watchlist is added to and entries are
# ended (an expiry, with a reason), never deleted; the tariff belongs to the fee administrators. Actions
# on declarations are checked again by the services.
ROLE_PERMISSIONS = {
    CUSTOMS_OFFICER: [
        *_VIEW_DECLARATIONS,
        "clearance.change_inspection",
        "clearance.view_risksettings",
        "clearance.view_hsriskrule",
        "clearance.view_referenceprice",
        "clearance.view_companyviolation",
        "clearance.add_companyviolation",
    ],
    BORDER_GUARD_OFFICER: [
        *_VIEW_DECLARATIONS,
        "clearance.change_inspection",
        "clearance.view_watchlistentry",
        "clearance.add_watchlistentry",
        "clearance.change_watchlistentry",
    ],
    QUARANTINE_OFFICER: [
        *_VIEW_DECLARATIONS,
        "clearance.change_inspection",
        "clearance.view_revokedcertificate",
        "clearance.add_revokedcertificate",
        "clearance.change_revokedcertificate",
    ],
    # Border health quarantine: screens drivers and crew, keeps its list of people to be tested (entries
    # ended, never deleted), and reads the epidemic period the province set (supervisors set it).
    HEALTH_OFFICER: [
        *_VIEW_DECLARATIONS,
        "clearance.change_inspection",
        "clearance.view_healthflag",
        "clearance.add_healthflag",
        "clearance.change_healthflag",
        "clearance.view_epidemicmode",
    ],
    GATE_OPERATOR: [
        *_VIEW_DECLARATIONS,
        "clearance.view_smartlanegoodsgroup",
        "vehicles.view_lane",
        "vehicles.change_lane",
        *_EDIT_LANE_WINDOWS,
        "vehicles.view_yard",
        "vehicles.view_route",
        "clearance.view_arrivalslot",
        "clearance.change_arrivalslot",
        "clearance.view_unmatchedarrival",
        "clearance.change_unmatchedarrival",
        "clearance.view_lanecall",
        "clearance.view_laneevent",
        "vehicles.view_gatedevice",
        "clearance.view_tariff",
        "clearance.view_payment",
        "clearance.view_gatepass",
        "clearance.view_offlinedecision",
        "clearance.change_offlinedecision",
        "clearance.view_servicelevelobjective",
    ],
    FEE_ADMINISTRATOR: [
        "clearance.view_declaration",
        "clearance.view_fee",
        "clearance.view_payment",
        "clearance.view_company",
        "clearance.view_tariff",
        "clearance.add_tariff",
        "clearance.change_tariff",
        "clearance.view_tariffrate",
        "clearance.add_tariffrate",
        "clearance.change_tariffrate",
        "clearance.view_tariffcoefficient",
        "clearance.add_tariffcoefficient",
        "clearance.change_tariffcoefficient",
    ],
    SUPERVISOR: [
        *_VIEW_DECLARATIONS,
        "clearance.change_inspection",
        "vehicles.view_lane",
        "vehicles.change_lane",
        *_EDIT_LANE_WINDOWS,
        "clearance.view_watchlistentry",
        "clearance.view_risksettings",
        "clearance.change_risksettings",
        "clearance.view_hsriskrule",
        "clearance.add_hsriskrule",
        "clearance.change_hsriskrule",
        "clearance.view_referenceprice",
        "clearance.add_referenceprice",
        "clearance.change_referenceprice",
        "clearance.view_revokedcertificate",
        "clearance.view_arrivalslot",
        "clearance.view_unmatchedarrival",
        "clearance.view_laneevent",
        "clearance.view_tariff",
        "clearance.view_payment",
        "clearance.view_companyviolation",
        "clearance.add_companyviolation",
        "clearance.view_auditrecord",
        "clearance.view_auditanchor",
        "clearance.view_gatepass",
        "clearance.view_offlinedecision",
        "clearance.change_offlinedecision",
        *_VIEW_WEBHOOKS,
        "clearance.view_epidemicmode",
        "clearance.add_epidemicmode",
        "clearance.change_epidemicmode",
        "clearance.view_healthflag",
        "clearance.view_smartlanegoodsgroup",
        "clearance.add_smartlanegoodsgroup",
        "clearance.change_smartlanegoodsgroup",
        # The gate's promises: supervisors set them (ended, never deleted); gate operators read them.
        "clearance.view_servicelevelobjective",
        "clearance.add_servicelevelobjective",
        "clearance.change_servicelevelobjective",
    ],
}
