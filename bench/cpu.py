"""Where a load's CPU went: the server's processes, PostgreSQL's, Redis's, the load generator's own, and how
busy the machine was, read from /proc before and after (Linux only; elsewhere nothing is reported). Every
PostgreSQL and Redis process of the machine counts: run it on a quiet machine.

A benchmark on one machine shares its cores between the server it measures, the database and itself. The
shares say what bounds a figure: a request that costs PostgreSQL and the client more CPU than the floor's
whole request cannot reach the floor's rate, whatever the server's Python does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# By the process's command name (/proc/<pid>/stat): PostgreSQL's backends and background processes, Redis.
SERVICES = {"postgres": "postgresql", "redis-server": "redis"}


def _process_seconds(server_sessions: frozenset[int]) -> dict[str, float]:
    """CPU seconds used so far by the processes of each role now running. ``server_main``: the part of the
    server's that its main processes (the sessions' leaders) used themselves, without their children's."""
    used = {"server": 0.0, "server_main": 0.0, "postgresql": 0.0, "redis": 0.0}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        # utime and stime, and cutime and cstime: the CPU of the children it has reaped, so that a process
        # ending during the load (an autovacuum worker, a backend) moves its time to its parent instead of
        # taking it out of the role's total.
        seconds = sum(int(value) for value in fields[11:15]) / TICKS
        if int(fields[3]) in server_sessions:
            used["server"] += seconds
            if int(entry.name) in server_sessions:
                used["server_main"] += sum(int(value) for value in fields[11:13]) / TICKS
        elif name in SERVICES:
            used[SERVICES[name]] += seconds
    return used


def _machine() -> tuple[float, float, float]:
    """(busy, stolen, all) CPU seconds of the whole machine so far, over every core. Stolen: time a
    virtual machine's cores were ready to run and the host ran something else."""
    # user … steal: guest time is counted in user already.
    values = [int(value) for value in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle, iowait
    steal = values[7]
    return (sum(values) - idle - steal) / TICKS, steal / TICKS, sum(values) / TICKS


@dataclass
class Reading:
    """Milliseconds of CPU per request by role, and the cores the machine kept busy meanwhile."""

    server: float
    postgresql: float
    redis: float
    client: float
    cores_busy: float
    # Of the cores' time, the share the host gave to others (steal): figures from a run with much of it
    # are slower than the code, and vary from run to run.
    stolen: float
    # Of ``server``, what the main processes used themselves: a Celery worker's consumer, which receives,
    # acknowledges and hands the tasks to its pool processes (the rest of ``server``).
    server_main: float = 0.0

    def columns(self) -> str:
        return (
            f"{self.server:.2f} | {self.postgresql:.2f} | {self.redis:.2f} | {self.client:.2f} | "
            f"{self.cores_busy:.2f} of {os.cpu_count()} | {self.stolen:.0%}"
        )


class CpuMeter:
    """Started before a load and read after it; ``server_sessions``: the session ids of the server's
    processes (a server or worker started with ``start_new_session`` has its own pid as that id)."""

    def __init__(self, *server_sessions: int):
        self.available = PROC.joinpath("stat").exists()
        self.server_sessions = frozenset(server_sessions)
        if self.available:
            self.client = sum(os.times()[:2])  # first: the /proc scan below is not the client's work
            self.processes = _process_seconds(self.server_sessions)
            self.machine = _machine()

    def read(self, requests: int) -> Reading | None:
        if not self.available or not requests:
            return None
        client = sum(os.times()[:2])
        processes = _process_seconds(self.server_sessions)
        busy, stolen, total = _machine()
        per_request = {role: 1000 * (processes[role] - self.processes[role]) / requests for role in processes}
        elapsed = total - self.machine[2]
        elapsed_cores = elapsed / (os.cpu_count() or 1)
        return Reading(
            **per_request,
            client=1000 * (client - self.client) / requests,
            cores_busy=(busy - self.machine[0]) / elapsed_cores if elapsed_cores else 0.0,
            stolen=(stolen - self.machine[1]) / elapsed if elapsed else 0.0,
        )
