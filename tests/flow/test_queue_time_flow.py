"""A route's queue-time limit on the real line: a lot whose limit ran out before its step got a tool
is held QUEUE_TIME with the limit and why, and nothing is sent to the tool; an operator's decision
runs the step anyway (the decision is the record) — never passes it unrun — and the lot completes."""
from __future__ import annotations

import pytest

from line.holds import HoldDecision, apply_decision, record_decision
from line.ledger import Ledger
from line.lot_flow import drive_lot
from tests.support import ROOT, simulated, write_line

pytestmark = pytest.mark.prefect


def route_with_limit(tmp_path, max_h: float):
    text = (ROOT / "recipes/routes/engineering/seed-check.yaml").read_text()
    text = text.replace("name: eng-seed-check", "name: eng-seed-check-qt").replace(
        "recipe: met-film-cu-pad@v1}",
        f"recipe: met-film-cu-pad@v1,\n       queue_limits: [{{since: E01, max_h: {max_h}, why: Cu seed oxidises}}]}}")
    path = tmp_path / "route.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("decision", ["rework", "continue"])
def test_a_lot_past_its_queue_time_limit_is_held_and_a_decision_runs_the_step(prefect_server, tmp_path, sqlite_url,
                                                                            decision):
    """rework runs it again; so does continue — a step that never reached a tool has nothing to accept."""
    with simulated(("PVD01", "sputter"), ("MET01", "metrology"), speed=3000) as sim:
        path = write_line(tmp_path / "line.yaml", {"PVD01": sim.ports()["PVD01"]})
        met = sim.ports()["MET01"]
        path.write_text(path.read_text() + f"  - id: MET01\n    kind: metrology\n    address: TCPIP0::127.0.0.1::{met}::SOCKET\n")
        route = route_with_limit(tmp_path, 1e-6)            # 3.6 ms: past before E02 can queue
        out = drive_lot("Q1", route, 2, str(path), str(ROOT / "recipes"), db_url=sqlite_url)
        assert out["status"] == "ON_HOLD" and "QUEUE_TIME" in out["reason"], out
        ledger = Ledger(sqlite_url)
        (hold,) = ledger.holds("Q1")
        assert hold.reason_type == "QUEUE_TIME"
        assert "E02 must start within 1e-06 h of E01's end (Cu seed oxidises)" in hold.reason
        held = next(r for r in ledger.step_runs("Q1") if r.step_id == "E02")
        assert held.status == "ON_HOLD" and held.tool_id == "" and not sim.tools["MET01"].jobs   # nothing sent
        answer = HoldDecision(decision=decision, operator="eng-kim", note="seed checked, oxide within limits")
        record_decision(ledger, hold.id, answer)
        apply_decision(ledger, "Q1", hold.step_run_id, answer)
        again = drive_lot("Q1", route, 2, str(path), str(ROOT / "recipes"), db_url=sqlite_url)
        assert again["status"] == "COMPLETE", again
        runs = [(r.step_id, r.rework, r.status) for r in ledger.step_runs("Q1")]
        assert runs == [("E01", 0, "COMPLETE"), ("E02", 0, "ON_HOLD"), ("E02", 1, "COMPLETE")]
        assert len(sim.tools["MET01"].jobs) == 1
        ledger.dispose()


def test_a_lot_within_its_limit_runs_as_if_there_were_none(prefect_server, tmp_path, sqlite_url):
    with simulated(("PVD01", "sputter"), ("MET01", "metrology"), speed=3000) as sim:
        path = write_line(tmp_path / "line.yaml", {"PVD01": sim.ports()["PVD01"]})
        met = sim.ports()["MET01"]
        path.write_text(path.read_text() + f"  - id: MET01\n    kind: metrology\n    address: TCPIP0::127.0.0.1::{met}::SOCKET\n")
        out = drive_lot("Q2", route_with_limit(tmp_path, 24), 2, str(path), str(ROOT / "recipes"), db_url=sqlite_url)
        assert out["status"] == "COMPLETE", out
        assert Ledger(sqlite_url).holds("Q2") == []
