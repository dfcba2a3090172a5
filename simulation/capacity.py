"""``simulate_day --find-capacity``: the smallest lanes and officers that meet the objectives for a profile.

What is searched: the lanes' throughput (every lane's calls per hour, as a multiple of the profile's — more
lanes open, or each lane served faster, come to the same) and the officers on duty per force (each shift's
count, as a multiple of the profile's), over the same ladder of multiples. Each trial is a whole simulated day
through the real services, judged by the objectives in force (``clearance.kpis.slo_attainment``).

The search assumes more never hurts (a setting that meets the objectives still meets them with more lanes or
officers) and is greedy, not exhaustive:
1. the lanes, with every force at the ladder's top (so officers cannot be what holds the day back): the
   smallest multiple that meets the objectives, found by bisection;
2. each force in turn, the lanes at that multiple and the forces not yet searched at the top;
3. the combination is tried; should it miss, every dimension steps up together until it meets or the ladder
   ends.

The cheaper, scaled-down search (``--scale``, 0.25 by default): a trial runs ``scale`` of the profile's
vehicles with ``scale`` of its lane capacities and officers (rounded, at least one each), so each queue sees
the same load per server at a quarter of the cost. It errs on the safe side: fewer servers make the same
utilisation queue longer, so the setting it finds is, if anything, more than the full day needs. ``--scale
1`` searches on the day itself.
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Callable
from dataclasses import dataclass

from django.core.management import call_command

from clearance import kpis
from clearance.models import ServiceLevelObjective
from simulation.engine import simulate
from simulation.profiles import FORCES, Profile
from vehicles.models import Lane

SLO_FIELDS = ("name", "stage", "percentile", "target_minutes", "channel", "direction")
LADDER = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0)


@dataclass(frozen=True)
class Setting:
    lanes: float  # multiple of every lane's capacity per hour
    officers: tuple[tuple[str, float], ...]  # (force, multiple of its officers on duty)

    def officers_of(self, force: str) -> float:
        return dict(self.officers)[force]

    def describe(self) -> str:
        forces = ", ".join(f"{force} ×{factor:g}" for force, factor in self.officers)
        return f"lanes ×{self.lanes:g}; officers {forces}"


@dataclass
class Trial:
    setting: Setting
    met: bool
    slos: list[dict]
    vehicles: int


def lane_capacities(profile: Profile) -> dict[str, int]:
    """Each lane's capacity per hour in the profile: its own setting, else the reference data's."""
    call_command("load_reference", verbosity=0, stdout=io.StringIO())
    return {
        lane.code: int(profile.lanes.get(lane.code, {}).get("capacity_per_hour", lane.capacity_per_hour))
        for lane in Lane.objects.exclude(purpose=Lane.Purpose.EMPTY_RETURN)
    }


def profile_for(profile: Profile, setting: Setting, *, scale: float, capacities: dict[str, int]) -> Profile:
    """The profile with the setting applied, scaled down by ``scale`` (vehicles, lane capacities, officers)."""
    routes = {
        code: {**route, "vehicles": max(1, round(route["vehicles"] * scale))} for code, route in profile.routes.items()
    }
    lanes = {code: dict(profile.lanes.get(code, {})) for code in capacities}
    for code, capacity in capacities.items():
        lanes[code]["capacity_per_hour"] = max(1, round(capacity * setting.lanes * scale))
    officers = {
        force: [
            {**shift, "count": max(1, math.ceil(shift["count"] * setting.officers_of(force) * scale))}
            if shift["count"]
            else dict(shift)
            for shift in shifts
        ]
        for force, shifts in profile.officers.items()
    }
    # The name stays the profile's: it is written with the lanes' history (a short field).
    return dataclasses.replace(profile, routes=routes, lanes=lanes, officers=officers)


def trial_run(
    profile: Profile, setting: Setting, *, seed: int, scale: float, capacities: dict[str, int], objectives: list[dict]
) -> Trial:
    """One day with the setting, in the current (scratch) database, emptied first; judged by ``objectives``
    (those in force when the search began; none: the defaults the day loads)."""
    call_command("flush", interactive=False, verbosity=0)
    for objective in objectives:
        ServiceLevelObjective.objects.create(**objective)
    simulate(profile_for(profile, setting, scale=scale, capacities=capacities), seed=seed)
    rows = kpis.stage_times()
    slos = kpis.slo_attainment(rows, kpis.slos_in_force())
    return Trial(setting=setting, met=all(slo["met"] is not False for slo in slos), slos=slos, vehicles=len(rows))


def capacity_find(
    profile: Profile,
    *,
    seed: int,
    scale: float,
    ladder: tuple[float, ...] = LADDER,
    report: Callable[[Trial], None] | None = None,
) -> tuple[Setting | None, list[Trial]]:
    """The smallest setting on the ladder that meets every objective (None if even the top does not), and
    every trial run on the way."""
    objectives = list(ServiceLevelObjective.objects.filter(is_active=True).values(*SLO_FIELDS))
    capacities = lane_capacities(profile)
    trials: dict[Setting, Trial] = {}

    def meets(setting: Setting) -> bool:
        if setting not in trials:
            trials[setting] = trial_run(
                profile, setting, seed=seed, scale=scale, capacities=capacities, objectives=objectives
            )
            if report:
                report(trials[setting])
        return trials[setting].met

    def smallest(build: Callable[[float], Setting]) -> int | None:
        """Bisection over the ladder for the first step whose setting meets (monotone by assumption)."""
        low, high = 0, len(ladder) - 1
        if not meets(build(ladder[high])):
            return None
        while low < high:
            middle = (low + high) // 2
            if meets(build(ladder[middle])):
                high = middle
            else:
                low = middle + 1
        return low

    top = ladder[-1]
    officers = {force: top for force in FORCES}

    def with_lanes(factor: float) -> Setting:
        return Setting(lanes=factor, officers=tuple(sorted(officers.items())))

    lane_step = smallest(with_lanes)
    if lane_step is None:
        return None, list(trials.values())
    steps = {"lanes": lane_step}
    for force in FORCES:

        def with_force(factor: float, force=force) -> Setting:
            return Setting(lanes=ladder[lane_step], officers=tuple(sorted({**officers, force: factor}.items())))

        step = smallest(with_force)
        steps[force] = len(ladder) - 1 if step is None else step
        officers[force] = ladder[steps[force]]
    while True:
        setting = Setting(lanes=ladder[steps["lanes"]], officers=tuple(sorted((f, ladder[steps[f]]) for f in FORCES)))
        if meets(setting):
            return setting, list(trials.values())
        if all(step == len(ladder) - 1 for step in steps.values()):
            return None, list(trials.values())
        steps = {key: min(step + 1, len(ladder) - 1) for key, step in steps.items()}


def setting_in_full(profile: Profile, setting: Setting, *, capacities: dict[str, int]) -> dict:
    """What the setting means for the full day: each lane's calls per hour and each force's officers per shift."""
    return {
        "lanes_capacity_per_hour": {code: round(c * setting.lanes) for code, c in sorted(capacities.items())},
        "officers_per_shift": {
            force: [
                {"from": s["from"], "to": s["to"], "count": math.ceil(s["count"] * setting.officers_of(force))}
                for s in profile.officers[force]
            ]
            for force in FORCES
        },
    }
