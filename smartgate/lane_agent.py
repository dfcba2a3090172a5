"""The reference lane agent: what a lane controller does at the barrier, online or not.

    SMARTGATE_DEVICE_KEY=<the lane_gate device's key> python -m smartgate.lane_agent \\
        --centre https://smartgate.example --lane 1119-EX1 --state-dir /var/lib/smartgate-lane

It reads plate reads from standard input, one a line: ``PLATE CONFIDENCE [TICKET]``, and prints one JSON
line per decision. For each read it asks the centre (``POST /api/v1/gate/reads/``); when the centre does
not answer within ``--timeout`` seconds (or answers 5xx), it decides alone from the signed gate passes and
revocation list it synced (verified with the centre's published Ed25519 keys, offline), and keeps the
decision in its SQLite file. Every ``--sync-every`` seconds, and after each online answer, it syncs passes,
revocations and keys, and uploads the decisions it took alone (``POST /api/v1/gate/reads/offline/``,
idempotent by decision id: an upload cut halfway is sent again whole).

It is a client of the API: it speaks the wire format (reason codes as strings), imports only the pass
format (``clearance.gate_pass``) and the plate normalization, and needs no Django settings nor database.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from clearance import gate_pass
from vehicles.plates import normalize_plate

OPEN, HOLD = "open", "hold"
# The API's reason codes for what only a lane deciding alone can find.
LOW_CONFIDENCE = "low_confidence"
NO_GATE_PASS = "no_gate_pass"
GATE_PASS_REVOKED = "gate_pass_revoked"
GATE_PASS_EXPIRED = "gate_pass_expired"
GATE_PASS_USED = "gate_pass_used"
CALLED_TO_OTHER_LANE = "called_to_other_lane"
UPLOAD_BATCH = 500

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (kid TEXT PRIMARY KEY, public_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS passes (
    pid INTEGER PRIMARY KEY, plate TEXT NOT NULL, exp INTEGER NOT NULL, token TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked (pid INTEGER PRIMARY KEY, revoked_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS used (pid INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    decision_id TEXT PRIMARY KEY, read_at TEXT NOT NULL, body TEXT NOT NULL, uploaded_at TEXT
);
"""


class CentreUnreachable(Exception):
    """No answer within the timeout, a refused connection, or a 5xx: decide alone."""


class CentreRefused(Exception):
    """The centre answered 4xx: the request itself is wrong (a bad key, a malformed read)."""

    def __init__(self, status: int, problem: dict):
        super().__init__(f"{status}: {problem.get('detail') or problem}")
        self.status, self.problem = status, problem


@dataclass
class Decision:
    decision: str
    reasons: list[str]
    mode: str  # "online" or "offline"
    decision_id: str | None = None
    reference: str | None = None
    extra: dict = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps(
            {
                "decision": self.decision,
                "reasons": self.reasons,
                "mode": self.mode,
                "decision_id": self.decision_id,
                "reference": self.reference,
            },
            ensure_ascii=False,
        )


class LaneAgent:
    def __init__(
        self,
        *,
        centre: str,
        device_key: str,
        lane: str,
        state_dir: Path,
        timeout: float = 1.0,
        sync_timeout: float = 30.0,
        min_confidence: Decimal = Decimal("0.85"),
    ):
        self.centre = centre.rstrip("/")
        self.device_key = device_key
        self.lane = lane
        # A barrier cannot wait: the question gets ``timeout``; syncs and uploads, off the barrier's path,
        # get longer.
        self.timeout = timeout
        self.sync_timeout = sync_timeout
        self.min_confidence = min_confidence
        state_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(state_dir / f"lane-{lane.replace('/', '_')}.sqlite3")
        self.db.executescript(SCHEMA)

    # --- talking to the centre ------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, body: dict | None = None, *, auth: bool = True, timeout: float | None = None
    ) -> dict:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            headers["Authorization"] = f"Api-Key {self.device_key}"
        request = urllib.request.Request(self.centre + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            if error.code >= 500:
                raise CentreUnreachable(f"{error.code}") from error
            try:
                problem = json.loads(error.read() or b"{}")
            except ValueError:
                problem = {}
            raise CentreRefused(error.code, problem) from error
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
            raise CentreUnreachable(str(error)) from error

    def sync(self) -> bool:
        """Fetch the keys, this lane's passes and the revocations since the last sync; keep what verifies.
        Returns False when the centre is unreachable (the cache stays as it was)."""
        try:
            timeout = self.sync_timeout
            keys = self._request("GET", "/api/v1/gate/keys/", auth=False, timeout=timeout)["keys"]
            lane = urllib.parse.quote(self.lane)
            passes = self._request("GET", f"/api/v1/gate/passes/?lane={lane}", timeout=timeout)["passes"]
            since = self._state("revocations_since")
            query = f"lane={lane}" + (f"&since={urllib.parse.quote(since)}" if since else "")
            revocations = self._request("GET", f"/api/v1/gate/revocations/?{query}", timeout=timeout)
        except CentreUnreachable:
            return False
        with self.db:
            for key in keys:
                self.db.execute("INSERT OR REPLACE INTO keys VALUES (?, ?)", (key["kid"], key["public_key"]))
            public_keys = self.public_keys()
            # Passes are kept until they expire: one withdrawn since is known by the revocation list (the
            # two are fetched apart, and either may fail), one used here by the lane's own record.
            self.db.execute("DELETE FROM passes WHERE exp < ?", (int(time.time()),))
            for item in passes:
                try:
                    payload = gate_pass.verify(item["token"], public_keys, kind=gate_pass.PASS)
                except gate_pass.InvalidToken:
                    continue  # not the centre's: never trusted
                self.db.execute(
                    "INSERT OR REPLACE INTO passes VALUES (?, ?, ?, ?)",
                    (payload["pid"], payload["plate"], payload["exp"], item["token"]),
                )
            try:
                listing = gate_pass.verify(revocations["signed"], public_keys, kind=gate_pass.REVOCATIONS)
            except gate_pass.InvalidToken:
                return False
            for pid, _plate, revoked_at in listing["items"]:
                self.db.execute("INSERT OR REPLACE INTO revoked VALUES (?, ?)", (pid, revoked_at))
            self._set_state("revocations_since", revocations["next_since"])
        return True

    def public_keys(self) -> dict:
        return {
            kid: gate_pass.public_key_from_text(text)
            for kid, text in self.db.execute("SELECT kid, public_key FROM keys")
        }

    # --- the barrier ----------------------------------------------------------------------------------

    def read(
        self, plate: str, confidence: Decimal | str, *, ticket: str | None = None, read_at: datetime | None = None
    ) -> Decision:
        """Open or hold for one plate read: the centre's answer, or the lane's own when it cannot ask."""
        read_at = read_at or datetime.now(UTC)
        body = {"plate": plate, "read_at": read_at.isoformat(), "confidence": str(confidence)}
        if ticket:
            body["ticket"] = ticket
        try:
            answer = self._request("POST", "/api/v1/gate/reads/", body)
        except CentreUnreachable:
            return self.decide_offline(plate, Decimal(str(confidence)), read_at=read_at)
        if answer["decision"] == OPEN:
            self._mark_used(normalize_plate(plate))
        return Decision(answer["decision"], answer["reasons"], "online", reference=answer.get("reference"))

    def decide_offline(self, plate: str, confidence: Decimal, *, read_at: datetime) -> Decision:
        """The lane alone: a pass for this plate, signed by a published key, for this lane, valid now, not
        revoked and not used opens the barrier; anything else holds it. The decision is kept for upload."""
        normalized = normalize_plate(plate)
        reasons = []
        if confidence < self.min_confidence:
            reasons.append(LOW_CONFIDENCE)
        token, payload = self._pass_for(normalized)
        if payload is None:
            reasons.append(NO_GATE_PASS)
        elif self.db.execute("SELECT 1 FROM revoked WHERE pid = ?", (payload["pid"],)).fetchone():
            reasons.append(GATE_PASS_REVOKED)
        elif not payload["nbf"] <= read_at.timestamp() <= payload["exp"]:
            reasons.append(GATE_PASS_EXPIRED)
        elif self.db.execute("SELECT 1 FROM used WHERE pid = ?", (payload["pid"],)).fetchone():
            reasons.append(GATE_PASS_USED)
        elif payload["lane"] not in (None, self.lane):
            reasons.append(CALLED_TO_OTHER_LANE)
        decision = HOLD if reasons else OPEN
        record = {
            "decision_id": str(uuid.uuid4()),
            "plate": plate,
            "read_at": read_at.isoformat(),
            "confidence": str(confidence),
            "decision": decision,
            "reasons": reasons,
            "gate_pass": token if decision == OPEN else "",
        }
        with self.db:
            self.db.execute(
                "INSERT INTO decisions (decision_id, read_at, body) VALUES (?, ?, ?)",
                (record["decision_id"], record["read_at"], json.dumps(record)),
            )
            if decision == OPEN:
                self.db.execute("INSERT OR IGNORE INTO used VALUES (?)", (payload["pid"],))
        return Decision(
            decision, reasons, "offline", decision_id=record["decision_id"], reference=payload and payload["ref"]
        )

    def _pass_for(self, normalized: str) -> tuple[str, dict | None]:
        """The newest cached pass for the plate that verifies against the keys held (checked again here:
        the cache file is not trusted more than the network)."""
        public_keys = self.public_keys()
        for (token,) in self.db.execute("SELECT token FROM passes WHERE plate = ? ORDER BY pid DESC", (normalized,)):
            try:
                return token, gate_pass.verify(token, public_keys, kind=gate_pass.PASS)
            except gate_pass.InvalidToken:
                continue
        return "", None

    def _mark_used(self, normalized: str) -> None:
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO used SELECT pid FROM passes WHERE plate = ?", (normalized,))

    # --- uploading ------------------------------------------------------------------------------------

    def pending(self) -> list[dict]:
        rows = self.db.execute("SELECT body FROM decisions WHERE uploaded_at IS NULL ORDER BY read_at")
        return [json.loads(body) for (body,) in rows]

    def upload(self) -> list[dict] | None:
        """Send the decisions taken alone; returns the centre's results, or None when it is unreachable."""
        results = []
        pending = self.pending()
        for start in range(0, len(pending), UPLOAD_BATCH):
            batch = pending[start : start + UPLOAD_BATCH]
            try:
                answer = self._request(
                    "POST", "/api/v1/gate/reads/offline/", {"decisions": batch}, timeout=self.sync_timeout
                )
            except CentreUnreachable:
                return None
            now = datetime.now(UTC).isoformat()
            with self.db:
                self.db.executemany(
                    "UPDATE decisions SET uploaded_at = ? WHERE decision_id = ?",
                    [(now, item["decision_id"]) for item in answer["results"]],
                )
            results.extend(answer["results"])
        return results

    def _state(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def _set_state(self, name: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (name, value))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smartgate.lane_agent", description=__doc__.split("\n\n")[0])
    parser.add_argument("--centre", required=True, help="the centre's base URL, e.g. https://smartgate.example")
    parser.add_argument("--lane", required=True, help="this lane's code, e.g. 1119-EX1")
    parser.add_argument("--state-dir", type=Path, required=True, help="where the cache and decisions are kept")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for the centre (1.0)")
    parser.add_argument("--sync-every", type=float, default=30.0, help="seconds between syncs (30)")
    parser.add_argument("--sync-timeout", type=float, default=30.0, help="seconds a sync or upload may take (30)")
    parser.add_argument("--min-confidence", type=Decimal, default=Decimal("0.85"))
    args = parser.parse_args(argv)
    key = os.environ.get("SMARTGATE_DEVICE_KEY", "")
    if not key:
        parser.error("set SMARTGATE_DEVICE_KEY to the lane_gate device's key (never on the command line)")
    agent = LaneAgent(
        centre=args.centre,
        device_key=key,
        lane=args.lane,
        state_dir=args.state_dir,
        timeout=args.timeout,
        sync_timeout=args.sync_timeout,
        min_confidence=args.min_confidence,
    )
    last_sync = 0.0
    while True:
        if time.monotonic() - last_sync >= args.sync_every:
            if agent.sync():
                agent.upload()
            last_sync = time.monotonic()
        ready, _, _ = select.select([sys.stdin], [], [], args.sync_every)
        if not ready:
            continue
        line = sys.stdin.readline()
        if not line:
            return 0
        parts = line.split()
        if len(parts) < 2:
            print(json.dumps({"error": "expected: PLATE CONFIDENCE [TICKET]"}), flush=True)
            continue
        try:
            decision = agent.read(parts[0], parts[1], ticket=parts[2] if len(parts) > 2 else None)
        except CentreRefused as refused:
            print(json.dumps({"error": str(refused)}, ensure_ascii=False), flush=True)
            continue
        print(decision.as_json(), flush=True)


if __name__ == "__main__":
    sys.exit(main())
