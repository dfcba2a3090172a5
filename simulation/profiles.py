"""Traffic profiles: a day at the gate described as data (``simulation/profiles/<name>.json``).

A profile says how many vehicles come on each route and in which direction, when (24 hourly weights,
local time), what they carry, who declares them, how the checks tend to answer (realised through the real
engines' rules, never decided here), how forwarders behave (declaring ahead, paying, coming late or not at
all), how many officers of each force are on duty hour by hour and how long their inspections take, and the
lanes' capacities. ``profile_load`` validates it and says what is wrong, field by field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from clearance.models import Declaration, Inspection

Channel = Declaration.Channel

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
FORCES = tuple(Inspection.Force.values)
INSPECTION_KINDS = tuple(Inspection.Kind.values)
GOODS_TYPES = ("perishable", "ore", "general")


class ProfileError(ValueError):
    """A profile that cannot be simulated; the message names the field and what is accepted."""


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    day: date
    routes: dict  # route code -> {"vehicles": int, "export_share": float}
    hourly_weights: list[float]
    goods_mix: dict  # goods type -> share
    companies: dict  # {"count", "priority_share", "under_watch_share"}
    channels: dict  # yellow and red: shares of declarations coded for the engine's risk rules
    border_guard: dict  # {"document_expiring_share", "watchlist_flag_share", "watchlist_deny_share"}
    quarantine: dict  # {"missing_certificate_share"}
    forwarders: dict  # {"declare_lead_hours": [lo, hi], "pay_minutes": [lo, mode, hi], "no_show_share", ...}
    inspections: dict  # {"pass_share", "minutes": {kind: [lo, mode, hi]}, "supervisor_minutes", "release_share"}
    officers: dict  # force -> list of {"from": h, "to": h, "count": n}
    movement: dict  # {"drive_minutes": [lo, mode, hi], "lane_minutes": [lo, mode, hi], "gate_retry_minutes": n}
    lanes: dict  # lane code -> {"capacity_per_hour": n, "max_vehicles_in_lane": n, "is_open": bool}
    dispatch_every_seconds: int
    horizon_hours: int

    @property
    def vehicles(self) -> int:
        return sum(route["vehicles"] for route in self.routes.values())

    def officers_on_duty(self, force: str, hour: int) -> int:
        return sum(shift["count"] for shift in self.officers[force] if shift["from"] <= hour % 24 < shift["to"])


def profile_names() -> list[str]:
    return sorted(path.stem for path in PROFILES_DIR.glob("*.json"))


def profile_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        return path
    path = PROFILES_DIR / f"{name_or_path}.json"
    if not path.exists():
        raise ProfileError(f"No profile {name_or_path!r}; profiles: {', '.join(profile_names())} (or a .json path).")
    return path


def profile_load(name_or_path: str) -> Profile:
    """Read and validate a profile by name (``2027-target``) or path. Raises ProfileError."""
    path = profile_path(name_or_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ProfileError(f"{path.name}: not valid JSON ({error}).") from None
    return profile_from_dict(data, source=path.name)


def _share(value, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ProfileError(f"{field}: a share between 0 and 1, not {value!r}.")
    return float(value)


def _count(value, field: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ProfileError(f"{field}: a whole number of at least {minimum}, not {value!r}.")
    return value


def _triangle(value, field: str) -> list[float]:
    """[low, mode, high] minutes, low <= mode <= high."""
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value)
        or not value[0] <= value[1] <= value[2]
    ):
        raise ProfileError(f"{field}: [low, mode, high] minutes with 0 <= low <= mode <= high, not {value!r}.")
    return [float(v) for v in value]


def _range(value, field: str) -> list[float]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value)
        or value[0] > value[1]
    ):
        raise ProfileError(f"{field}: [low, high] with 0 <= low <= high, not {value!r}.")
    return [float(v) for v in value]


def _section(data: dict, key: str) -> dict:
    section = data.get(key)
    if not isinstance(section, dict):
        raise ProfileError(f"{key}: an object is required.")
    return section


def profile_from_dict(data: dict, *, source: str = "profile") -> Profile:
    """Validate a profile's data. Raises ProfileError naming the first wrong field."""
    try:
        return _validated(data)
    except ProfileError as error:
        raise ProfileError(f"{source}: {error}") from None


def _validated(data: dict) -> Profile:
    if not isinstance(data, dict):
        raise ProfileError("a JSON object is required.")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ProfileError("name: a non-empty string is required.")
    try:
        day = date.fromisoformat(data.get("day", ""))
    except (TypeError, ValueError):
        raise ProfileError(f"day: an ISO date (YYYY-MM-DD) is required, not {data.get('day')!r}.") from None

    routes = _section(data, "routes")
    if not routes:
        raise ProfileError("routes: at least one route.")
    for code, route in routes.items():
        if not isinstance(route, dict):
            raise ProfileError(f"routes.{code}: an object with vehicles and export_share.")
        _count(route.get("vehicles"), f"routes.{code}.vehicles")
        _share(route.get("export_share"), f"routes.{code}.export_share")

    weights = data.get("hourly_weights")
    if (
        not isinstance(weights, list)
        or len(weights) != 24
        or not all(isinstance(w, int | float) and not isinstance(w, bool) and w >= 0 for w in weights)
        or not sum(weights)
    ):
        raise ProfileError("hourly_weights: 24 non-negative numbers (local hours 0–23), not all zero.")

    goods_mix = _section(data, "goods_mix")
    unknown = set(goods_mix) - set(GOODS_TYPES)
    if unknown:
        raise ProfileError(f"goods_mix: unknown goods type(s) {sorted(unknown)}; accepted: {', '.join(GOODS_TYPES)}.")
    for key, share in goods_mix.items():
        _share(share, f"goods_mix.{key}")
    if abs(sum(goods_mix.values()) - 1) > 1e-6:
        raise ProfileError(f"goods_mix: shares must add up to 1, not {sum(goods_mix.values()):.3f}.")

    companies = _section(data, "companies")
    _count(companies.get("count"), "companies.count", minimum=1)
    _share(companies.get("priority_share", 0), "companies.priority_share")
    _share(companies.get("under_watch_share", 0), "companies.under_watch_share")

    channels = _section(data, "channels")
    _share(channels.get(Channel.YELLOW), "channels.yellow")
    _share(channels.get(Channel.RED), "channels.red")
    if channels[Channel.YELLOW] + channels[Channel.RED] > 1:
        raise ProfileError("channels: yellow + red cannot exceed 1.")

    border_guard = _section(data, Inspection.Force.BORDER_GUARD)
    for key in ("document_expiring_share", "watchlist_flag_share", "watchlist_deny_share"):
        _share(border_guard.get(key, 0), f"border_guard.{key}")
    quarantine = _section(data, Inspection.Force.QUARANTINE)
    _share(quarantine.get("missing_certificate_share", 0), "quarantine.missing_certificate_share")

    forwarders = _section(data, "forwarders")
    lead = _range(forwarders.get("declare_lead_hours"), "forwarders.declare_lead_hours")
    _triangle(forwarders.get("pay_minutes"), "forwarders.pay_minutes")
    _share(forwarders.get("no_show_share", 0), "forwarders.no_show_share")
    _share(forwarders.get("late_share", 0), "forwarders.late_share")
    _triangle(forwarders.get("late_minutes", [0, 0, 0]), "forwarders.late_minutes")
    if lead[0] < 3.5:
        # The border guard's rule: declared at least 3 hours before arrival (the gate's notice), with room
        # for a late truck's arrival time not to move before the notice has run.
        raise ProfileError("forwarders.declare_lead_hours: declare at least 3.5 hours ahead (the 3-hour notice).")

    inspections = _section(data, "inspections")
    _share(inspections.get("pass_share"), "inspections.pass_share")
    minutes = inspections.get("minutes")
    if not isinstance(minutes, dict) or set(minutes) != set(INSPECTION_KINDS):
        raise ProfileError(f"inspections.minutes: one [low, mode, high] for each of {', '.join(INSPECTION_KINDS)}.")
    for kind, triangle in minutes.items():
        _triangle(triangle, f"inspections.minutes.{kind}")
    _triangle(inspections.get("supervisor_minutes"), "inspections.supervisor_minutes")
    _share(inspections.get("release_share"), "inspections.release_share")

    officers = _section(data, "officers")
    if set(officers) != set(FORCES):
        raise ProfileError(f"officers: shifts for each of {', '.join(FORCES)}.")
    for force, shifts in officers.items():
        if not isinstance(shifts, list) or not shifts:
            raise ProfileError(f"officers.{force}: a list of shifts {{from, to, count}}.")
        for index, shift in enumerate(shifts):
            field = f"officers.{force}[{index}]"
            if not isinstance(shift, dict):
                raise ProfileError(f"{field}: an object {{from, to, count}}.")
            start, end = _count(shift.get("from"), f"{field}.from"), _count(shift.get("to"), f"{field}.to")
            if not start < end <= 24:
                raise ProfileError(f"{field}: 0 <= from < to <= 24 (local hours), not {start}–{end}.")
            _count(shift.get("count"), f"{field}.count")
        if not any(shift["count"] for shift in shifts):
            raise ProfileError(f"officers.{force}: at least one officer on some shift.")

    movement = _section(data, "movement")
    _triangle(movement.get("drive_minutes"), "movement.drive_minutes")
    _triangle(movement.get("lane_minutes"), "movement.lane_minutes")
    _count(movement.get("gate_retry_minutes", 2), "movement.gate_retry_minutes", minimum=1)
    if movement["drive_minutes"][2] >= 15:
        raise ProfileError("movement.drive_minutes: under 15 minutes (a call expires after SMARTGATE_CALL_TIMEOUT).")

    lanes = data.get("lanes", {})
    if not isinstance(lanes, dict):
        raise ProfileError("lanes: an object of lane code -> settings.")
    for code, lane in lanes.items():
        if not isinstance(lane, dict) or set(lane) - {"capacity_per_hour", "max_vehicles_in_lane", "is_open"}:
            raise ProfileError(f"lanes.{code}: capacity_per_hour, max_vehicles_in_lane and/or is_open.")
        for key in ("capacity_per_hour", "max_vehicles_in_lane"):
            if key in lane:
                _count(lane[key], f"lanes.{code}.{key}", minimum=1)

    return Profile(
        name=name,
        description=str(data.get("description", "")),
        day=day,
        routes=routes,
        hourly_weights=[float(w) for w in weights],
        goods_mix=goods_mix,
        companies=companies,
        channels=channels,
        border_guard=border_guard,
        quarantine=quarantine,
        forwarders=forwarders,
        inspections=inspections,
        officers=officers,
        movement=movement,
        lanes=lanes,
        dispatch_every_seconds=_count(data.get("dispatch_every_seconds", 60), "dispatch_every_seconds", minimum=5),
        horizon_hours=_count(data.get("horizon_hours", 72), "horizon_hours", minimum=24),
    )
