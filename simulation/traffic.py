"""The day's vehicles, drawn from a profile and a seed before anything runs: who declares what, when each
truck is expected and comes (or does not), and every service time and officer's verdict it will meet.

Each vehicle draws from its own generator (``random.Random(f"{seed}:{index}")``), so one vehicle's draws
never depend on how many another made: the same seed gives the same day, vehicle by vehicle.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clearance.models import Declaration, Inspection, WatchlistEntry
from simulation.profiles import Profile
from vehicles.models import Direction

Channel = Declaration.Channel

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")

# (HS code, description, kg low, kg high, USD per kg) of each goods type. The checks see only these lines.
GOODS = {
    "perishable": [
        ("08106000", "Fresh durian", 12000, 20000, 2.5),
        ("08109040", "Fresh dragon fruit", 12000, 22000, 0.8),
        ("08109050", "Fresh jackfruit", 12000, 22000, 0.6),
        ("08045020", "Fresh mangoes", 10000, 20000, 1.0),
        ("08039010", "Fresh bananas", 15000, 25000, 0.4),
    ],
    "ore": [
        ("26011100", "Iron ore, non-agglomerated", 25000, 30000, 0.12),
        ("26030000", "Copper ore and concentrates", 25000, 30000, 1.5),
    ],
    "general": [
        ("84713020", "Laptops", 2000, 6000, 60.0),
        ("85171300", "Smartphones", 1000, 3000, 200.0),
        ("94036090", "Wooden furniture", 6000, 12000, 4.0),
        ("61091010", "Cotton T-shirts", 4000, 9000, 8.0),
        ("84295200", "Excavators", 15000, 25000, 6.0),
    ],
}
# The channel a vehicle is coded for is realised by the customs engine's own HS risk rules: the last two
# digits of its goods' code name a rule the simulation loads (yellow from 30, red from 60 by default).
CHANNEL_SUFFIX = {Channel.YELLOW: "91", Channel.RED: "92"}
CHANNEL_WEIGHT = {Channel.YELLOW: 35, Channel.RED: 65}


def coded_hs(hs_code: str, channel: str) -> str:
    return hs_code if channel == Channel.GREEN else hs_code[:6] + CHANNEL_SUFFIX[channel]


def triangular(rng: random.Random, spec: list[float]) -> float:
    low, mode, high = spec
    return rng.triangular(low, high, mode) if high > low else low


@dataclass
class TruckPlan:
    index: int
    route: str
    direction: Direction
    company: int  # index into the day's companies
    goods_type: str
    hs_code: str
    description: str
    weight_kg: int
    value_usd: int
    channel: Channel  # as coded for the customs engine's rules
    has_certificate: bool
    document_expiring: bool
    watchlist: WatchlistEntry.Action | None
    expected_arrival: datetime
    declare_at: datetime
    arrival: datetime | None  # None: a no-show, cancelled by its forwarder
    pay_minutes: float
    drive_minutes: float
    lane_minutes: float
    inspection_minutes: dict = field(default_factory=dict)  # inspection kind -> minutes
    inspection_passes: dict = field(default_factory=dict)  # force -> passes?
    supervisor_minutes: float = 0.0
    released: bool = True

    @property
    def country(self) -> str:
        return "VN" if self.direction == Direction.EXPORT else "CN"

    @property
    def plate(self) -> str:
        if self.country == "VN":
            number = 10000 + self.index
            return f"12C-{number // 100:03d}.{number % 100:02d}"
        return f"桂A{self.index:05d}"

    @property
    def plate_read(self) -> str:
        """The plate as a camera reads it (no separators)."""
        return self.plate.replace("-", "").replace(".", "")


def day_start(profile: Profile) -> datetime:
    """Midnight, local time, of the simulated day, in UTC."""
    return datetime.combine(profile.day, time(0), tzinfo=LOCAL).astimezone(UTC)


def clock_start(profile: Profile) -> datetime:
    """When the virtual clock starts: early enough for the first declaration (the day before)."""
    lead = profile.forwarders["declare_lead_hours"][1]
    return day_start(profile) - timedelta(hours=lead + 1)


def _pick(rng: random.Random, shares: dict) -> str:
    keys = sorted(shares)
    return rng.choices(keys, weights=[shares[key] for key in keys])[0]


def trucks_plan(profile: Profile, *, seed: int) -> list[TruckPlan]:
    """The day's vehicles in arrival order of their expected time (index = position in the day)."""
    start = day_start(profile)
    drafts = []
    for route_code in sorted(profile.routes):
        route = profile.routes[route_code]
        for k in range(route["vehicles"]):
            rng = random.Random(f"{seed}:{route_code}:{k}")
            hour = rng.choices(range(24), weights=profile.hourly_weights)[0]
            expected = start + timedelta(hours=hour, seconds=rng.uniform(0, 3600))
            direction = Direction.EXPORT if rng.random() < route["export_share"] else Direction.IMPORT
            drafts.append((expected, route_code, k, direction))
    drafts.sort()
    plans = []
    forwarders, inspections, border_guard = profile.forwarders, profile.inspections, profile.border_guard
    for index, (expected, route_code, _k, direction) in enumerate(drafts):
        rng = random.Random(f"{seed}:{index}")
        goods_type = _pick(rng, profile.goods_mix)
        hs_code, description, kg_low, kg_high, usd_per_kg = rng.choice(GOODS[goods_type])
        weight = int(rng.uniform(kg_low, kg_high))
        draw = rng.random()
        channel = (
            Channel.RED
            if draw < profile.channels[Channel.RED]
            else Channel.YELLOW
            if draw < profile.channels[Channel.RED] + profile.channels[Channel.YELLOW]
            else Channel.GREEN
        )
        draw = rng.random()
        watchlist = (
            WatchlistEntry.Action.DENY
            if draw < border_guard.get("watchlist_deny_share", 0)
            else WatchlistEntry.Action.FLAG
            if draw < border_guard.get("watchlist_deny_share", 0) + border_guard.get("watchlist_flag_share", 0)
            else None
        )
        lead = rng.uniform(*forwarders["declare_lead_hours"])
        no_show = rng.random() < forwarders.get("no_show_share", 0)
        late = rng.random() < forwarders.get("late_share", 0)
        arrival = expected + timedelta(
            minutes=triangular(rng, forwarders.get("late_minutes", [0, 0, 0])) if late else 0
        )
        plans.append(
            TruckPlan(
                index=index,
                route=route_code,
                direction=direction,
                company=rng.randrange(profile.companies["count"]),
                goods_type=goods_type,
                hs_code=coded_hs(hs_code, channel),
                description=description,
                weight_kg=weight,
                value_usd=max(1, int(weight * usd_per_kg * rng.uniform(0.8, 1.2))),
                channel=channel,
                has_certificate=rng.random() >= profile.quarantine.get("missing_certificate_share", 0),
                document_expiring=rng.random() < border_guard.get("document_expiring_share", 0),
                watchlist=watchlist,
                expected_arrival=expected,
                declare_at=expected - timedelta(hours=lead),
                arrival=None if no_show else arrival,
                pay_minutes=triangular(rng, forwarders["pay_minutes"]),
                drive_minutes=triangular(rng, profile.movement["drive_minutes"]),
                lane_minutes=triangular(rng, profile.movement["lane_minutes"]),
                inspection_minutes={
                    kind: triangular(rng, spec) for kind, spec in sorted(inspections["minutes"].items())
                },
                inspection_passes={
                    force: rng.random() < inspections["pass_share"] for force in sorted(Inspection.Force.values)
                },
                supervisor_minutes=triangular(rng, inspections["supervisor_minutes"]),
                released=rng.random() < inspections["release_share"],
            )
        )
    return plans


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL).date()
