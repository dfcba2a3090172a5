"""The reference lane agent (smartgate.lane_agent) against a live centre, then cut off from it.

The agent's own code runs as at a lane: it syncs passes, revocations and keys over HTTP from a live test
server, decides alone from them when the centre does not answer (a closed port, a server that never
answers), and uploads its decisions when the centre is back; the centre reconciles them.
"""

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from clearance import selectors
from clearance.audit import Actor
from clearance.models import Declaration, OfflineDecision
from clearance.services.lanes import lane_set_open
from smartgate.lane_agent import LaneAgent
from tests.clearance.test_gate_decision import client_with_key, create_device, read
from tests.factories import DeclarationFactory, client_for, notice_has_run, truck_plate_read
from vehicles.models import Lane

Stage = Declaration.Stage
LANE = "1119-EX1"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference", "tariff")]


@pytest.fixture(autouse=True)
def one_export_lane_open(reference):
    """Only 1119-EX1 takes exports, so the dispatcher calls every truck of the tests to the agent's lane."""
    for code in ("1119-EX2", "1119-REV1"):
        lane_set_open(lane_id=Lane.objects.get(code=code).id, is_open=False, actor=Actor.system(), reason="Works")


def closed_port() -> str:
    """A centre that is down: nothing listens on the port, the connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture
def silent_centre():
    """A centre that accepts the connection and never answers (a hung server or a black-holed link)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


@pytest.fixture
def agent(live_server, tmp_path):
    return LaneAgent(
        centre=live_server.url,
        device_key=create_device("lane_gate", lane=LANE, name="lane-controller"),
        lane=LANE,
        state_dir=tmp_path,
        timeout=5.0,  # generous on a loaded test machine; a barrier would wait about 1 s
    )


def called(n: int) -> Declaration:
    """Declared, cleared and paid, then seen at the yard gate: the arrival's dispatch calls it (work sent
    after commit runs at once in these tests)."""
    declaration = DeclarationFactory(n=n, paid=True)
    notice_has_run()
    camera = client_with_key(create_device("yard_gate", yard="1119-export-yard", name=f"yard-camera-{n}"))
    camera.post(
        "/api/v1/gate/movements/",
        {"plate": truck_plate_read(n), "kind": "yard_in", "occurred_at": datetime.now(UTC).isoformat()},
        format="json",
    )
    declaration.refresh_from_db()
    assert (declaration.stage, declaration.lane.code) == (Stage.CALLED, LANE)
    return declaration


def cancel(declaration: Declaration) -> None:
    response = client_for(declaration.company).post(
        f"/api/v1/declarations/{declaration.id}/cancel/", {"reason": "Trip called off"}, format="json"
    )
    assert response.status_code == 200, response.json()


def test_the_lane_opens_from_a_pass_with_the_centre_down_and_refuses_a_revoked_one(agent):
    opened, withdrawn = called(0), called(1)
    assert agent.sync()
    cancel(withdrawn)  # the forwarder calls the trip off: its pass is revoked
    assert agent.sync()  # the lane hears of it while it can

    agent.centre = closed_port()
    at = datetime.now(UTC)
    opens = agent.read(truck_plate_read(0), "0.970", read_at=at)
    refused = agent.read(truck_plate_read(1), "0.970", read_at=at)
    unknown = agent.read(truck_plate_read(7), "0.970", read_at=at)
    again = agent.read(truck_plate_read(0), "0.970", read_at=at + timedelta(seconds=30))

    assert (opens.decision, opens.mode, opens.reference) == ("open", "offline", opened.reference)
    assert (refused.decision, refused.reasons) == ("hold", ["gate_pass_revoked"])
    assert (unknown.decision, unknown.reasons) == ("hold", ["no_gate_pass"])
    assert (again.decision, again.reasons) == ("hold", ["gate_pass_used"])
    assert len(agent.pending()) == 4
    opened.refresh_from_db()
    assert opened.stage == Stage.CALLED  # the centre knows nothing yet


def test_a_centre_that_does_not_answer_in_time_is_treated_as_down(agent, silent_centre):
    called(0)
    assert agent.sync()

    agent.centre, agent.timeout = silent_centre, 0.5
    decision = agent.read(truck_plate_read(0), "0.970")

    assert (decision.decision, decision.mode) == ("open", "offline")


def test_the_centre_answers_when_it_can(agent):
    called(0)
    assert agent.sync()

    decision = agent.read(truck_plate_read(0), "0.970")

    assert (decision.decision, decision.mode) == ("open", "online")
    assert agent.pending() == []


def test_offline_decisions_are_reconciled_on_reconnection_and_conflicts_flagged(agent, live_server):
    opened, revoked_while_away, _let_in_meanwhile, withdrawn = called(0), called(1), called(2), called(3)
    assert agent.sync()
    cancel(withdrawn)
    assert agent.sync()

    agent.centre = closed_port()
    # The centre goes on without the lane: a trip is called off, and the lane's backup camera (online
    # through another link) lets a truck in.
    cancel(revoked_while_away)
    backup = client_with_key(create_device("lane_gate", lane=LANE, name="backup-camera"))
    assert read(backup, 2).json()["decision"] == "open"
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    taken = {
        n: agent.read(truck_plate_read(n), "0.970", read_at=at + timedelta(seconds=10 * n)).decision_id
        for n in range(4)
    }
    # The border camera sees truck 0 cross; the centre, not knowing it entered the lane, cannot match it.
    border = client_with_key(create_device("border_line", lane=LANE))
    crossed_at = at + timedelta(minutes=4)
    seen = border.post(
        "/api/v1/gate/movements/",
        {"plate": truck_plate_read(0), "kind": "border_out", "occurred_at": crossed_at.isoformat()},
        format="json",
    )
    assert seen.json()["declaration"] is None
    assert agent.upload() is None  # still cut off: nothing lost, nothing sent

    agent.centre = live_server.url
    results = {item["decision_id"]: (item["outcome"], item["conflict"]) for item in agent.upload()}

    assert [results[taken[n]] for n in range(4)] == [
        ("applied", ""),
        ("conflict", "pass_revoked"),  # withdrawn before the barrier opened on it
        ("conflict", "already_through"),  # in the lane already, by another device
        ("recorded", ""),  # the lane held it: nothing to apply
    ]
    opened.refresh_from_db()
    # Through the lifecycle, at the lane's own times: in the lane when the barrier opened offline, then
    # crossed when the border camera saw it.
    assert (opened.stage, opened.in_lane_at, opened.crossed_at) == (Stage.CROSSED, at, crossed_at)
    entered = opened.events.get(event="entered_lane")
    assert entered.data["offline"] is True
    assert agent.pending() == []
    assert selectors.dashboard_figures()["offline"] == {"decisions": 4, "conflicts": 2, "unreviewed": 2}


def test_an_upload_sent_twice_changes_nothing_the_second_time(agent, live_server):
    opened = called(0)
    assert agent.sync()
    agent.centre = closed_port()
    agent.read(truck_plate_read(0), "0.970")
    body = {"decisions": agent.pending()}
    agent.centre = live_server.url
    first = agent.upload()

    device = client_with_key(agent.device_key)
    again = device.post("/api/v1/gate/reads/offline/", body, format="json").json()

    assert first[0]["outcome"] == again["results"][0]["outcome"] == "applied"
    assert again["results"][0]["replayed"] is True
    assert OfflineDecision.objects.count() == 1
    assert opened.events.filter(event="entered_lane").count() == 1


def test_the_command_reads_plates_and_prints_decisions(agent, tmp_path):
    """``python -m smartgate.lane_agent`` as a lane runs it: plates on standard input, decisions out."""
    centre = closed_port()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smartgate.lane_agent",
            "--centre",
            centre,
            "--lane",
            LANE,
            "--state-dir",
            str(tmp_path / "cli"),
            "--timeout",
            "0.5",
        ],
        input=f"{truck_plate_read(0)} 0.970\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SMARTGATE_DEVICE_KEY": agent.device_key},
        check=True,
    )

    decision = json.loads(result.stdout.splitlines()[-1])
    assert (decision["decision"], decision["reasons"], decision["mode"]) == ("hold", ["no_gate_pass"], "offline")
