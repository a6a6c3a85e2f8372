"""A lot through a sputter step as a real Prefect flow, with the ledger on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from line.ledger import Ledger
from line.lot_flow import drive_lot
from tests.support import SEED, one_step, wait_until

pytestmark = pytest.mark.prefect


def test_lot_completes_and_the_ledger_holds_its_genealogy(prefect_server, sim, line_file, db_url):
    out = one_step("LOT-F1", 5, "PVD01", str(SEED), str(line_file), db_url=db_url)
    assert out["status"] == "COMPLETE"
    ledger = Ledger(db_url)
    assert ledger.lot("LOT-F1").status == "COMPLETE"
    (run,) = ledger.step_runs("LOT-F1")
    assert (run.recipe_name, run.recipe_version, run.tool_id) == ("pvd-ti100-cu300-seed", 1, "PVD01")
    assert run.recipe_hash == sim.tools["PVD01"].jobs[run.job_id].recipe_hash   # the tool ran exactly this body
    assert run.flow_run_id
    assert [r.status for r in ledger.results(run.id)] == ["PROCESSED"] * 5
    assert len(ledger.measurements(run.id)) == 5 * 4
    tool_states = [e.dest for e in ledger.events("tool", "PVD01")]
    # watched at the fastest rate from START until a plasma phase (guarded) is seen, paced after it:
    # the vent between the last deposition and the end is seen only when a paced poll lands in it
    # (`line.pacing`). Which plasma phase is seen first is not fixed: at ×600 a pre-clean or a
    # deposition lasts 50–60 ms, about one fastest poll, and a loaded machine delays polls
    for s in ("SETTING_UP", "READY", "EXECUTING_PUMPDOWN", "IDLE"):
        assert s in tool_states
    assert {"EXECUTING_PRECLEAN", "EXECUTING_DEPOSIT"} & set(tool_states)
    wafer_states = [e.dest for e in ledger.events("wafer", "LOT-F1.03")]
    assert "IN_PROCESS" in wafer_states and wafer_states[-1] in ("PROCESSED", "stocker")
    assert ledger.lease_holder("PVD01") is None
    e40 = [(e.dest, e.data["e40"]) for e in ledger.events("job", run.job_id) if "e40" in e.data]
    assert e40 == [("QUEUED", 1), ("SETTING_UP", 2), ("WAITING_FOR_START", 3), ("PROCESSING", 5), ("PROCESS_COMPLETE", 6)]
    assert "PRODUCTIVE" in {e.data.get("e10") for e in ledger.events("tool", "PVD01")}
    ledger.dispose()
    # the lot's and the job's progress artifacts advanced to the end
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

    with get_client(sync_client=True) as client:
        latest = {a.key: a for a in client.read_latest_artifacts(artifact_filter=ArtifactCollectionFilter(
            key=ArtifactCollectionFilterKey(any_=["progress-lot-lot-f1", "progress-job-lot-f1-s1-r0"])))}
    assert float(latest["progress-lot-lot-f1"].data) == 100.0 and "1/1" in latest["progress-lot-lot-f1"].description
    assert float(latest["progress-job-lot-f1-s1-r0"].data) == 100.0 and "5/5" in latest["progress-job-lot-f1-s1-r0"].description


def test_hard_arc_holds_the_lot_records_the_alarm_and_is_not_retried(prefect_server, sim, line_file, db_url):
    sim.call(sim.inject, "PVD01", "hard_arc", slot=2)
    out = one_step("LOT-F2", 4, "PVD01", str(SEED), str(line_file), db_url=db_url)
    assert out["status"] == "ON_HOLD" and out["hold_type"] == "ALARM"
    assert "HARD_ARC" in out["hold_reason"]
    ledger = Ledger(db_url)
    lot = ledger.lot("LOT-F2")
    assert lot.status == "ON_HOLD" and "2001 HARD_ARC" in lot.hold_reason
    (alarm,) = ledger.alarms("LOT-F2")
    assert (alarm.alid, alarm.wafer_id) == (2001, "LOT-F2.02")
    (run,) = ledger.step_runs("LOT-F2")
    assert {r.wafer_id: r.status for r in ledger.results(run.id)} == {
        "LOT-F2.01": "PROCESSED", "LOT-F2.02": "INCOMPLETE", "LOT-F2.03": "NOT_PROCESSED", "LOT-F2.04": "NOT_PROCESSED"}
    assert {w.id: w.state for w in ledger.wafers("LOT-F2")}["LOT-F2.02"] == "ABORTED"
    jobs = sim.tools["PVD01"].job_log()
    assert len(jobs) == 1 and jobs[0]["start_count"] == 1          # never silently retried
    assert ledger.holds("LOT-F2")[0].reason_type == "ALARM"
    ledger.dispose()


def test_rerunning_a_finished_lot_runs_nothing_again(prefect_server, sim, line_file, tmp_path, sqlite_url):
    """`bumpline run` is a one-step route: its finished step is COMPLETE in the ledger, so a second run
    of the lot neither processes nor even asks the tool (a step cut off half-way is what reattaches:
    tests/flow/test_holds.py, tests/e2e/test_kill_resume.py)."""
    db = sqlite_url
    one_step("LOT-F3", 3, "PVD01", str(SEED), str(line_file), db_url=db)
    history = {w: len(sim.world.wafer(w).history) for w in ("LOT-F3.01", "LOT-F3.02", "LOT-F3.03")}
    again = drive_lot("LOT-F3", str(SEED), 3, str(line_file), tool_id="PVD01", db_url=db)
    assert again["status"] == "COMPLETE" and again["steps"] == []
    assert {w: len(sim.world.wafer(w).history) for w in history} == history   # no wafer processed twice
    assert sim.tools["PVD01"].jobs["LOT-F3.S1.r0"].start_count == 1
    ledger = Ledger(db)
    assert [e.trigger for e in ledger.events("job", "LOT-F3.S1.r0") if e.trigger == "reattach"] == []
    (run,) = ledger.step_runs("LOT-F3")
    assert run.status == "COMPLETE" and [r.status for r in ledger.results(run.id)] == ["PROCESSED"] * 3
    assert len(ledger.measurements(run.id)) == 3 * 4                           # collected once, not twice
    ledger.dispose()


def test_an_answer_before_the_orchestrator_pauses_is_refused_and_changes_nothing(prefect_server, tmp_path, sqlite_url):
    """A live orchestrator holds the lot but its run is not paused yet: the answer would be lost to it."""
    from prefect import flow, get_client

    from line.holds import HoldDecision, NotYetWaiting, answer_hold
    from line.leases import orchestrator_id

    @flow(name="an-orchestrator")
    def orchestrator() -> None:
        return None

    ledger = Ledger(sqlite_url)
    ledger.ensure_lot("L1", 1)
    ledger.open_hold("L1", None, "ALARM", "SP01 alarm 7001 MISALIGNMENT")
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(orchestrator)                # alive (this process), not paused
    assert ledger.acquire_lease("lot:L1", orchestrator_id(str(run.id)), 60)
    with pytest.raises(NotYetWaiting, match="has not paused for the decision"):
        answer_hold(ledger, "L1", HoldDecision(decision="continue", operator="op-1"))
    assert ledger.holds("L1")[0].decision == "" and ledger.lot("L1").status == "ON_HOLD"
    ledger.release_lease("lot:L1", orchestrator_id(str(run.id)))   # the orchestrator is gone: into the ledger
    assert "recorded 'continue'" in answer_hold(ledger, "L1", HoldDecision(decision="continue", operator="op-1"))
    assert ledger.lot("L1").status == "RUNNING"
    ledger.dispose()


def test_a_lot_that_ends_on_hold_ends_failed_named_onhold(prefect_server, sim, line_file, sqlite_url):
    """Never Completed: the lot's run ends Failed named OnHold with the hold as its message, its held
    step's task run too, and the run is named by the lot; the result dict is still read back."""
    from prefect import get_client

    from line.lot_flow import lot_flow, lot_result

    sim.call(sim.inject, "PVD01", "hard_arc", slot=1)
    state = lot_flow("LOT-F9", str(SEED), 2, str(line_file), tool_id="PVD01", db_url=sqlite_url, return_state=True)
    assert state.is_failed() and state.name == "OnHold" and "HARD_ARC" in state.message
    out = lot_result(state)
    assert out["status"] == "ON_HOLD" and out["steps"][-1]["hold_type"] == "ALARM"
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        tasks = client.read_task_runs()
    assert run.name == "LOT-F9"
    held = [t for t in tasks if t.flow_run_id == run.id]
    assert [(t.name, t.state.type.value, t.state.name) for t in held] == [("S1", "FAILED", "OnHold")]
    # an automation selects them by event name: Prefect names a state-change event after the state
    def names() -> set[str]:
        with get_client(sync_client=True) as client:
            got = client.request("POST", "/events/filter", json={"filter": {"any_resource": {"id_prefix": [
                f"prefect.flow-run.{run.id}", f"prefect.task-run.{held[0].id}"]}}, "limit": 50}).json()
        return {e["event"] for e in got["events"]}
    wait_until(lambda: {"prefect.task-run.OnHold", "prefect.flow-run.OnHold"} <= names(), 60, "the OnHold events")
