"""Operator decisions on a hold, carried through a flow paused on it: continue, scrap and abort
answered with `bumpline lot answer`, and a hold nobody answers in time. (Rework answered from the
CLI: tests/e2e/test_kill_resume.py.)"""
from __future__ import annotations

from typing import Any

import pytest

from line.holds import NotYetWaiting, waiting_flow_run
from line.ledger import Ledger
from line.lot_flow import drive_lot
from tests.flow.lots import AFTER_C03, PRINTERS, RECIPES, SPUTTERS, C, InThread, all_leases_free, bring_on, lot_jobs
from tests.support import cli, cli_env, wait_until

pytestmark = pytest.mark.prefect

# ---- hold decisions carried through a paused flow -----------------------------------------------
def paused_on_hold(ledger: Ledger, lot_id: str) -> bool:
    try:
        return waiting_flow_run(ledger, lot_id) is not None
    except NotYetWaiting:                     # its orchestrator holds the lot, not paused yet
        return False


def paused_with_a_hold(sim: Any, line_file: str, db: str, lot_id: str, faults: dict[str, tuple[str, dict]],
                       wafers: int = 1) -> InThread:
    """Product C's lot run with holds waiting for a decision (`hold_timeout_s` > 0), paused on the hold
    the faults cause; the faults are cleared (the tools mended) before anyone answers."""
    bring_on(sim, C, lot_id, wafers)
    for tool, (fault, params) in faults.items():
        sim.call(sim.inject, tool, fault, persistent=True, **params)
    flow = InThread(drive_lot, lot_id, C, wafers, line_file, RECIPES, db, hold_timeout_s=200)
    ledger = Ledger(db)
    try:
        wait_until(lambda: paused_on_hold(ledger, lot_id) or flow.done(), 150, f"{lot_id} paused on its hold",
                   poll_s=0.5)
        assert not flow.done(), flow.result()
        (hold,) = ledger.holds(lot_id)
        assert hold.decision == "" and ledger.lot(lot_id).status == "ON_HOLD"
    finally:
        ledger.dispose()
    for tool, (fault, _) in faults.items():
        sim.call(sim.clear, tool, fault)
    return flow


def arcs_at_c03(**params: Any) -> dict[str, tuple[str, dict]]:
    """A hard arc in C03's Cu layer (the cup metal), whichever sputter runs it."""
    return {tool: ("hard_arc", dict(layer=2, **params)) for tool in SPUTTERS}


MISALIGNED_AT_C04 = {sp: ("misalignment", {"um": 45}) for sp in PRINTERS}


def answer(lot_id: str, env: dict[str, str], *args: str) -> None:
    out = cli("lot", "answer", lot_id, *args, env=env)
    assert out.returncode == 0 and "sent '" in out.stdout, out.stdout + out.stderr


def test_continue_accepts_the_held_step_and_the_lot_completes(prefect_server, sim_line_file, sqlite_url):
    sim, line_file = sim_line_file
    env = cli_env(PREFECT_API_URL=prefect_server, BUMPLINE_DB_URL=sqlite_url)
    flow = paused_with_a_hold(sim, line_file, sqlite_url, "HK1", arcs_at_c03(slot=1, fraction=0.9))
    answer("HK1", env, "--decision", "continue", "--operator", "op-1", "--note", "90 % of the cup Cu will do")
    out = flow.result(200)
    assert out["status"] == "COMPLETE", out
    ledger = Ledger(sqlite_url)
    assert ledger.lot("HK1").status == "COMPLETE"
    (hold,) = ledger.holds("HK1")
    assert (hold.reason_type, hold.decision, hold.decided_by, hold.note) == \
        ("ALARM", "continue", "op-1", "90 % of the cup Cu will do") and hold.decided_at is not None
    assert "HARD_ARC" in hold.reason
    runs = ledger.step_runs("HK1")
    (c03,) = [r for r in runs if r.step_id == "C03"]       # the held step stays recorded, accepted as it is
    assert (c03.status, c03.rework, hold.step_run_id) == ("ACCEPTED", 0, c03.id) and c03.tool_id in SPUTTERS
    assert [(r.wafer_id, r.status) for r in ledger.results(c03.id)] == [("HK1.01", "INCOMPLETE")]
    assert [(a.name, a.wafer_id) for a in ledger.alarms("HK1")] == [("HARD_ARC", "HK1.01")]
    assert [(r.step_id, r.status) for r in runs if r.step_id in AFTER_C03] == [(s, "COMPLETE") for s in AFTER_C03]
    jobs = lot_jobs(sim, "HK1")
    assert sorted(jobs) == sorted(["HK1.C01.r0", "HK1.C03.r0", *(f"HK1.{s}.r0" for s in AFTER_C03)])  # no rework
    assert all(j.start_count == 1 for j in jobs.values())
    cup = [l for l in sim.world.wafer("HK1.01").layers("pad", material="Cu") if l.props.get("complete") is False]
    assert len(cup) == 1                                   # the short Cu layer was kept, not deposited again
    assert all_leases_free(ledger, sim, "HK1")
    ledger.dispose()


def test_scrap_takes_the_named_wafer_out_and_the_rest_complete(prefect_server, sim_line_file, sqlite_url):
    sim, line_file = sim_line_file
    env = cli_env(PREFECT_API_URL=prefect_server, BUMPLINE_DB_URL=sqlite_url)
    flow = paused_with_a_hold(sim, line_file, sqlite_url, "HX1", arcs_at_c03(slot=2), wafers=2)
    answer("HX1", env, "--decision", "scrap", "--scrap", "HX1.02", "--operator", "op-2")
    out = flow.result(200)
    assert out["status"] == "COMPLETE", out
    ledger = Ledger(sqlite_url)
    (hold,) = ledger.holds("HX1")
    assert (hold.reason_type, hold.decision, hold.decided_by) == ("ALARM", "scrap", "op-2")
    assert "HARD_ARC" in hold.reason and "HX1.02" in hold.reason
    wafers = {w.id: w.state for w in ledger.wafers("HX1")}
    assert wafers["HX1.02"] == "SCRAPPED" and wafers["HX1.01"] != "SCRAPPED"
    assert [e.dest for e in ledger.events("wafer", "HX1.02")][-1] == "SCRAPPED"
    (decided,) = [e for e in ledger.events("lot", "HX1") if e.trigger == "operator-decision"]
    assert (decided.dest, decided.data["scrap"], decided.data["by"]) == ("SCRAP", ["HX1.02"], "op-2")
    runs = {r.step_id: r for r in ledger.step_runs("HX1")}
    assert runs["C03"].status == "ACCEPTED"
    assert [(r.wafer_id, r.status) for r in ledger.results(runs["C03"].id)] == \
        [("HX1.01", "PROCESSED"), ("HX1.02", "INCOMPLETE")]
    jobs = lot_jobs(sim, "HX1")
    for step in AFTER_C03:                        # later steps ran the rest of the lot, never the scrapped wafer
        assert runs[step].status == "COMPLETE"
        assert jobs[f"HX1.{step}.r0"].wafers == ["HX1.01"], (step, jobs[f"HX1.{step}.r0"].wafers)
        assert [(r.wafer_id, r.status) for r in ledger.results(runs[step].id)] == [("HX1.01", "PROCESSED")]
    assert [h["job"] for h in sim.world.wafer("HX1.02").history][-1] == "HX1.C03.r0"   # untouched since the hold
    assert {f"HX1.{s}.r0" for s in AFTER_C03} <= {h["job"] for h in sim.world.wafer("HX1.01").history}
    assert all(j.start_count == 1 for j in jobs.values())
    assert ledger.lot("HX1").status == "COMPLETE" and all_leases_free(ledger, sim, "HX1")
    ledger.dispose()


def test_abort_ends_the_lot_and_nothing_after_the_hold_runs(prefect_server, sim_line_file, sqlite_url):
    sim, line_file = sim_line_file
    env = cli_env(PREFECT_API_URL=prefect_server, BUMPLINE_DB_URL=sqlite_url)
    flow = paused_with_a_hold(sim, line_file, sqlite_url, "HA1", MISALIGNED_AT_C04)
    answer("HA1", env, "--decision", "abort", "--operator", "op-3", "--note", "paste lot suspect")
    out = flow.result(200)
    assert out["status"] == "ABORTED", out
    ledger = Ledger(sqlite_url)
    lot = ledger.lot("HA1")
    assert lot.status == "ABORTED" and "op-3" in lot.hold_reason and "paste lot suspect" in lot.hold_reason
    (hold,) = ledger.holds("HA1")
    assert (hold.reason_type, hold.decision, hold.decided_by) == ("ALARM", "abort", "op-3")
    assert "MISALIGNMENT" in hold.reason
    assert [r.step_id for r in ledger.step_runs("HA1")] == ["C01", "C03", "C04"]
    jobs = lot_jobs(sim, "HA1")
    assert sorted(jobs) == ["HA1.C01.r0", "HA1.C03.r0", "HA1.C04.r0"]      # no later step reached a tool
    assert all(j.start_count == 1 for j in jobs.values())
    assert [h["job"] for h in sim.world.wafer("HA1.01").history][-1] == "HA1.C04.r0"
    assert all_leases_free(ledger, sim, "HA1")
    ledger.dispose()


def test_a_hold_nobody_answers_in_time_ends_the_run_on_hold(prefect_server, sim_line_file, sqlite_url):
    """`lot start --hold-timeout 6` and nobody answers: the lot stays ON_HOLD with no decision, nothing
    after the held step runs, and the run ends like any lot that ends on hold (exit 3, one line)."""
    sim, line_file = sim_line_file
    env = cli_env(PREFECT_API_URL=prefect_server, BUMPLINE_DB_URL=sqlite_url)
    for sp in PRINTERS:
        sim.call(sim.inject, sp, "misalignment", um=45, persistent=True)
    run = cli("lot", "start", "--route", C, "--lot", "HT1", "--wafers", "1", "--hold-timeout", "6",
              "--line", line_file, env=env)
    ledger = Ledger(sqlite_url)
    assert ledger.lot("HT1").status == "ON_HOLD", run.stdout + run.stderr
    (hold,) = ledger.holds("HT1")
    assert (hold.reason_type, hold.decision, hold.decided_by, hold.decided_at) == ("ALARM", "", "", None)
    assert [e for e in ledger.events("lot", "HT1") if e.trigger == "operator-decision"] == []
    assert [(r.step_id, r.status) for r in ledger.step_runs("HT1")] == \
        [("C01", "COMPLETE"), ("C03", "COMPLETE"), ("C04", "ON_HOLD")]
    assert sorted(lot_jobs(sim, "HT1")) == ["HT1.C01.r0", "HT1.C03.r0", "HT1.C04.r0"]
    assert all_leases_free(ledger, sim, "HT1")
    ledger.dispose()
    last = "\n".join(run.stderr.strip().splitlines()[-2:])
    assert run.returncode == 3 and "Traceback" not in run.stderr, f"exit {run.returncode}, ending: {last}"
    assert "HT1 ON_HOLD" in run.stdout and "MISALIGNMENT" in run.stdout, run.stdout


