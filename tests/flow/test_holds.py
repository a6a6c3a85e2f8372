"""Holds as the README promises them, through real steps on simulated tools: each hold reason
(OUT_OF_SPEC, INTERLOCK, COMMUNICATION, NO_TOOL) in the ledger with the lot ON_HOLD, and a route no
tool may run refused before any wafer moves; one live orchestrator per lot; production mode holding
a draft route with reason RECIPE before any tool sees a job. (Operator decisions on a hold:
tests/flow/test_decisions.py.)"""
from __future__ import annotations

import inspect
import os
import re
from pathlib import Path

import pytest

from drivers.jobs import body_hash
from drivers.transport.modbus import ModbusTransport
from line.config import load_line
from line.ledger import Ledger
from line.lot_flow import drive_lot
from line.recipes.identity import approve
from line.yamlio import DocumentError
from tests.flow.lots import RECIPES, A, C, InThread, all_leases_free, bring_on, lot_jobs, modbus_answers, plc_line
from tests.support import ROOT, SEED, bound_line, cli, cli_env, job_processing, one_step, simulated, wait_until

pytestmark = pytest.mark.prefect


# ---- hold reasons through a real step ----------------------------------------------------------
def test_a_result_outside_its_limits_holds_the_lot_out_of_spec(prefect_server, sim, line_file, db_url):
    tolerance = 0.01     # % of target: the sputter's 1.5 % thickness noise lands outside it
    out = one_step("HS1", 1, "PVD01", str(SEED), str(line_file), db_url=db_url, tolerance_pct=tolerance)
    assert (out["status"], out["hold_type"]) == ("ON_HOLD", "OUT_OF_SPEC"), out
    ledger = Ledger(db_url)
    lot = ledger.lot("HS1")
    (hold,) = ledger.holds("HS1")
    assert lot.status == "ON_HOLD" and hold.reason_type == "OUT_OF_SPEC" and hold.reason == out["hold_reason"]
    assert lot.hold_reason == hold.reason and hold.decision == ""
    (run,) = ledger.step_runs("HS1")
    assert run.status == "ON_HOLD" and hold.step_run_id == run.id
    assert [(r.wafer_id, r.status) for r in ledger.results(run.id)] == [("HS1.01", "PROCESSED")]
    # every measurement the reason names is in the ledger and really outside target ± tolerance
    named = re.findall(r"(HS1\.\d\d) (\S+)=(\S+) \S+ outside (\S+)±(\S+)%", hold.reason)
    assert {name for _, name, *_ in named} == {"thickness.Ti", "thickness.Cu"}, hold.reason
    recorded = {(ms.wafer_id, ms.name): ms for ms in ledger.measurements(run.id)}
    for wafer, name, value, target, tol in named:
        ms = recorded[(wafer, name)]
        assert f"{ms.value:g}" == value and f"{ms.target:g}" == target and float(tol) == tolerance
        assert abs(ms.value - ms.target) > ms.target * tolerance / 100
    # the tool ran the job once, and the films it measured are the ones in the world model
    job = sim.tools["PVD01"].jobs[run.job_id]
    assert job.start_count == 1 and job.state == "PROCESS_COMPLETE"
    wafer = sim.world.wafer("HS1.01")
    for material in ("Ti", "Cu"):
        (film,) = wafer.layers("pad", material=material)
        assert round(film.thickness_nm, 2) == recorded[("HS1.01", f"thickness.{material}")].value
    assert ledger.lease_holder("PVD01") is None
    ledger.dispose()


def test_a_defeated_tool_interlock_holds_the_lot_interlock_and_deposits_nothing(prefect_server, sim, line_file,
                                                                                db_url):
    sim.call(sim.inject, "PVD01", "vacuum_leak", persistent=True)       # base pressure is never reached …
    sim.call(sim.inject, "PVD01", "interlock_defeat", persistent=True)  # … and the tool goes on regardless
    out = one_step("HS2", 1, "PVD01", str(SEED), str(line_file), db_url=db_url)
    assert (out["status"], out["hold_type"]) == ("ON_HOLD", "INTERLOCK"), out
    ledger = Ledger(db_url)
    (hold,) = ledger.holds("HS2")
    assert hold.reason_type == "INTERLOCK" and "base pressure" in hold.reason and "guard" in hold.reason
    assert "job aborted" in hold.reason
    assert ledger.lot("HS2").status == "ON_HOLD" and ledger.lot("HS2").hold_reason == hold.reason
    (run,) = ledger.step_runs("HS2")
    assert run.status == "ON_HOLD" and hold.step_run_id == run.id
    assert [(r.wafer_id, r.status) for r in ledger.results(run.id)] == [("HS2.01", "ABORTED")]
    assert ledger.measurements(run.id) == []
    job = sim.tools["PVD01"].jobs[run.job_id]
    wait_until(lambda: job.state == "ABORTED", 30, "the tool's job aborted by the driver")
    assert job.start_count == 1
    wafer = sim.world.wafer("HS2.01")
    assert not wafer.layers("pad", material="Ti") and not wafer.layers("pad", material="Cu"), \
        "no film may grow when the interlock trips"
    assert ledger.lease_holder("PVD01") is None
    ledger.dispose()


def test_a_plc_that_stays_unreachable_past_the_reconnect_budget_holds_communication(prefect_server, tmp_path,
                                                                                    sqlite_url):
    """A cure oven (Modbus TCP) drops its host mid-step and refuses it for longer than the driver's
    patience (the transport's reconnects within each poll, then the driver's silence budget): the lot
    holds COMMUNICATION; the job runs on; once the tool answers again it has run the job once, and
    the lot run again reattaches and collects it."""
    recipe = str(ROOT / "recipes/oven/cure-agepoxy-125.yaml")
    transport = inspect.signature(ModbusTransport.__init__).parameters
    attempts, delay = transport["reconnect_attempts"].default, transport["reconnect_delay_s"].default
    per_poll_s = delay * attempts * (attempts + 1) / 2 + transport["timeout_s"].default
    budget_s = 4.0                             # the line config's patience for this tool (default 30 s)
    patience_s = budget_s + 2 * per_poll_s
    outage_s = 200.0                           # far past that; the test ends it once the driver has given up
    assert outage_s > 3 * patience_s
    with simulated(("CURE01", "oven"), speed=6000, control_port=0) as sim:
        line = plc_line(tmp_path / "plc.yaml", sim, comm_budget_s=budget_s)
        port, tool = sim.ports()["CURE01"], sim.tools["CURE01"]
        sim.call(sim.inject, "CURE01", "stall", job="HC1.", persistent=True)    # the step stays PROCESSING
        flow = InThread(one_step, "HC1", 1, "CURE01", recipe, str(line), db_url=sqlite_url)
        try:
            wait_until(lambda: job_processing(sim, "HC1.S1.r0") or flow.done(), 60, "HC1's cure processing on CURE01")
            assert not flow.done(), flow.result()
            sim.call(sim.inject, "CURE01", "drop_connection", for_s=outage_s)
            wait_until(lambda: tool.faults.active("drop_connection") is None, 10,
                       "the drop to take effect at the driver's next poll")
            # the simulator's promise: every host connection closed, new ones refused for `for_s`
            assert not modbus_answers(port), f"CURE01 answers a new connection during its {outage_s:g} s drop"
            out = flow.result(patience_s + 60)
        finally:
            sim.call(sim.servers["CURE01"]["main"].drop_connections, 0)   # the outage ends: its own action, 0 s
            sim.call(sim.clear, "CURE01", "stall")                        # the job may end (and a flow still on it)
            flow.thread.join(60)
        assert (out["status"], out["hold_type"]) == ("ON_HOLD", "COMMUNICATION"), out
        assert "reattaches" in out["hold_reason"]
        ledger = Ledger(sqlite_url)
        (hold,) = ledger.holds("HC1")
        assert hold.reason_type == "COMMUNICATION" and hold.reason == out["hold_reason"]
        assert ledger.lot("HC1").status == "ON_HOLD" and ledger.lot("HC1").hold_reason == hold.reason
        (run,) = ledger.step_runs("HC1")
        assert (run.status, run.tool_id, hold.step_run_id) == ("ON_HOLD", "CURE01", run.id)
        assert ledger.lease_holder("CURE01") is None
        # the job ran on without its host; with the tool answering again, it has run it exactly once
        job = tool.jobs["HC1.S1.r0"]
        wait_until(lambda: job.state == "PROCESS_COMPLETE", 60, "the cure to finish on CURE01")
        wait_until(lambda: modbus_answers(port), 30, "CURE01 to answer again after the drop", poll_s=0.5)
        assert job.start_count == 1 and list(tool.jobs) == ["HC1.S1.r0"]
        assert [(h["job"], h["status"]) for h in sim.world.wafer("HC1.01").history] == [("HC1.S1.r0", "PROCESSED")]
        # running the lot again reattaches to that job and collects it: nothing runs twice
        again = one_step("HC1", 1, "CURE01", recipe, str(line), db_url=sqlite_url)
        assert again["status"] == "COMPLETE" and again["wafer_status"] == {"HC1.01": "PROCESSED"}, again
        assert job.start_count == 1 and len(sim.world.wafer("HC1.01").history) == 1
        assert any(e.trigger == "reattach" for e in ledger.events("job", "HC1.S1.r0"))
        assert ledger.lot("HC1").status == "COMPLETE" and ledger.lease_holder("CURE01") is None
        ledger.dispose()


def test_a_route_a_step_of_which_no_tool_may_run_is_refused_before_any_wafer_moves(prefect_server, sim_line_file,
                                                                                    tmp_path, sqlite_url):
    """No cure oven qualified for product A's polyimide cure (A09b): the orchestrator refuses the route
    at the step, naming each oven's refusal, before anything is recorded or reaches a tool — rather
    than running A01…A09a and ending in a NO_TOOL hold half-way."""
    sim, _ = sim_line_file
    qualified = "qualified: [pass-pi-cure-*, oven-agepoxy-cure-*]"
    text = (ROOT / "deploy/lines/sim.yaml").read_text()
    assert text.count(qualified) == 2                        # CURE01 and CURE02
    line = tmp_path / "no-pi-cure.yaml"
    line.write_text(text.replace(qualified, "qualified: [oven-agepoxy-cure-*]"))
    bring_on(sim, A, "HN1")
    with pytest.raises(DocumentError, match=r"step A09b: no tool of line sim-line .* may run pass-pi-cure-350@v1") as refused:
        drive_lot("HN1", A, 1, bound_line(load_line(line), sim, tmp_path / "bound.yaml"), RECIPES, sqlite_url)
    (problem,) = refused.value.problems
    assert problem.rule == "no-qualified-tool" and problem.file == A
    for oven in ("RFL01", "CURE01", "CURE02"):                # each oven says why it may not
        assert f"{oven} is not qualified for pass-pi-cure-350" in problem.message, problem.message
    ledger = Ledger(sqlite_url)
    assert ledger.lot("HN1") is None and ledger.step_runs("HN1") == []
    assert lot_jobs(sim, "HN1") == {} and not sim.world.wafer("HN1.01").history
    assert all_leases_free(ledger, sim, "HN1")
    ledger.dispose()


def test_a_step_no_tool_of_the_line_may_run_holds_the_lot_no_tool(prefect_server, sim_line_file, sqlite_url):
    """The line changes under a running lot: while its first step runs, the cure ovens lose their
    qualification for the Ag-epoxy cure (the line config is edited; the flow reads it again when it
    changes). The steps before the cure run; the cure (C04b) holds the lot NO_TOOL naming each oven's
    refusal; nothing after it runs."""
    from ruamel.yaml import YAML

    sim, line_file = sim_line_file
    route = bring_on(sim, C, "HN2")
    litho = [tid for tid, t in sim.tools.items() if t.kind == "litho"]
    for tid in litho:                                        # C01 stays PROCESSING until released
        sim.call(sim.inject, tid, "stall", job="HN2.", persistent=True)
    flow = InThread(drive_lot, "HN2", C, 1, line_file, RECIPES, sqlite_url)
    try:
        wait_until(lambda: job_processing(sim, "HN2.C01.r0") or flow.done(), 120, "HN2's first step processing")
        assert not flow.done(), flow.result()
        yaml = YAML()
        doc = yaml.load(Path(line_file).read_text())
        cure = [t for t in doc["tools"] if t["id"] in ("CURE01", "CURE02")]
        assert len(cure) == 2
        for t in cure:
            t["qualified"] = ["pass-pi-cure-*"]              # no longer for oven-agepoxy-cure-*
        with open(line_file, "w") as fh:
            yaml.dump(doc, fh)
    finally:
        for tid in litho:
            sim.call(sim.clear, tid, "stall")
    ledger = Ledger(sqlite_url)
    try:
        out = flow.result(200)
    except Exception as exc:
        raise AssertionError(
            f"HN2's flow failed instead of holding the lot NO_TOOL at C04b: lot {ledger.lot('HN2').status}, steps "
            f"{[(r.step_id, r.status) for r in ledger.step_runs('HN2')]}, holds {len(ledger.holds('HN2'))}: "
            f"{type(exc).__name__}: {exc}") from exc
    assert out["status"] == "ON_HOLD" and "C04b" in out["reason"] and "NO_TOOL" in out["reason"], out
    (hold,) = ledger.holds("HN2")
    assert hold.reason_type == "NO_TOOL" and ledger.lot("HN2").status == "ON_HOLD"
    assert "oven-agepoxy-cure-125@v1" in hold.reason
    for oven in ("RFL01", "CURE01", "CURE02"):                # each oven says why it may not
        assert f"{oven} is not qualified for oven-agepoxy-cure-125" in hold.reason, hold.reason
    ids = [rs.step.id for rs in route.steps]
    before = ids[: ids.index("C04b")]
    runs = ledger.step_runs("HN2")
    assert [(r.step_id, r.status) for r in runs] == [*((s, "COMPLETE") for s in before), ("C04b", "ON_HOLD")]
    assert runs[-1].tool_id == "" and hold.step_run_id == runs[-1].id
    jobs = lot_jobs(sim, "HN2")                               # the tools ran each step before C04b once, no more
    assert sorted(jobs) == sorted(f"HN2.{s}.r0" for s in before) and all(j.start_count == 1 for j in jobs.values())
    assert [h["job"] for h in sim.world.wafer("HN2.01").history] == [f"HN2.{s}.r0" for s in before]
    assert not any(tool.jobs for tool in sim.tools.values() if tool.kind == "oven")
    assert all_leases_free(ledger, sim, "HN2")
    ledger.dispose()


# ---- one live orchestrator per lot --------------------------------------------------------------
def test_a_second_orchestrator_for_a_running_lot_is_refused(prefect_server, sim_line_file, sqlite_url):
    sim, line_file = sim_line_file
    env = cli_env(PREFECT_API_URL=prefect_server, BUMPLINE_DB_URL=sqlite_url)
    route = bring_on(sim, C, "HB1")
    litho = [tid for tid, t in sim.tools.items() if t.kind == "litho"]
    for tid in litho:                    # C01 (litho) stays PROCESSING until released: the lot is running
        sim.call(sim.inject, tid, "stall", job="HB1.", persistent=True)
    first = InThread(drive_lot, "HB1", C, 1, line_file, RECIPES, sqlite_url)
    ledger = Ledger(sqlite_url)
    try:
        wait_until(lambda: job_processing(sim, "HB1.C01.r0") or first.done(), 120, "HB1's first step processing")
        assert not first.done(), first.result()
        holder = ledger.lease_holder("lot:HB1")
        assert holder and holder.endswith(f":{os.getpid()}")
        # a second orchestrator, from another process: refused, naming who runs the lot
        second = cli("lot", "start", "--route", C, "--lot", "HB1", "--wafers", "1", "--line", line_file, env=env)
        assert second.returncode == 3, second.stdout + second.stderr
        assert "HB1 RUNNING_ELSEWHERE" in second.stdout and holder in second.stdout, second.stdout
        # … and one in this process too
        again = drive_lot("HB1", C, 1, line_file, RECIPES, sqlite_url)
        assert again["status"] == "RUNNING_ELSEWHERE" and holder in again["reason"] and again["steps"] == []
        # neither touched the tools or the lot
        assert list(lot_jobs(sim, "HB1")) == ["HB1.C01.r0"]
        assert [(r.step_id, r.status) for r in ledger.step_runs("HB1")] == [("C01", "RUNNING")]
        assert ledger.lot("HB1").status == "RUNNING" and ledger.holds("HB1") == []
        assert ledger.lease_holder("lot:HB1") == holder
    finally:
        for tid in litho:
            sim.call(sim.clear, tid, "stall")
    out = first.result(200)
    assert out["status"] == "COMPLETE", out
    runs = ledger.step_runs("HB1")
    assert [(r.step_id, r.status) for r in runs] == [(rs.step.id, "COMPLETE") for rs in route.steps]
    jobs = lot_jobs(sim, "HB1")
    assert sorted(jobs) == sorted(r.job_id for r in runs) and all(j.start_count == 1 for j in jobs.values())
    assert all_leases_free(ledger, sim, "HB1")
    ledger.dispose()


# ---- production mode at route level ------------------------------------------------------------
def test_production_mode_holds_a_draft_route_before_any_tool_and_runs_it_approved(prefect_server, sim_line_file,
                                                                                  sqlite_url, monkeypatch):
    sim, line_file = sim_line_file
    monkeypatch.setenv("BUMPLINE_MODE", "production")
    route = bring_on(sim, C, "HP1")
    out = drive_lot("HP1", C, 1, line_file, RECIPES, sqlite_url)
    assert out["status"] == "ON_HOLD" and out["steps"] == [], out
    ledger = Ledger(sqlite_url)
    (hold,) = ledger.holds("HP1")
    assert hold.reason_type == "RECIPE" and f"{route.ref} is a draft" in hold.reason and hold.step_run_id is None
    assert ledger.lot("HP1").status == "ON_HOLD" and ledger.lot("HP1").hold_reason == hold.reason
    assert ledger.step_runs("HP1") == [] and lot_jobs(sim, "HP1") == {}          # nothing reached a tool
    assert not sim.world.wafer("HP1.01").history
    assert all_leases_free(ledger, sim, "HP1")
    # approved — the route, its product and every recipe it uses — the lot runs
    approve(ledger, "Route", route.name, route.version, route.sha256, route.path, by="qa-1")
    again = drive_lot("HP1", C, 1, line_file, RECIPES, sqlite_url)
    assert again["status"] == "ON_HOLD" and "product-c@v1 is a draft" in again["reason"], again
    assert lot_jobs(sim, "HP1") == {}
    product = route.product
    approve(ledger, "Product", product.name, product.version, product.sha256, product.path, by="qa-1")
    for recipe in {rs.recipe.ref: rs.recipe for rs in route.steps}.values():
        approve(ledger, "ToolRecipe", recipe.name, recipe.version, recipe.sha256, recipe.path, by="qa-1")
    again = drive_lot("HP1", C, 1, line_file, RECIPES, sqlite_url)
    assert again["status"] == "COMPLETE", again
    assert ledger.lot("HP1").status == "COMPLETE"
    runs = ledger.step_runs("HP1")
    assert [(r.step_id, r.status) for r in runs] == [(rs.step.id, "COMPLETE") for rs in route.steps]
    jobs = lot_jobs(sim, "HP1")
    # each tool ran exactly the body the ledger recorded, once
    assert [(r.step_id, body_hash(jobs[r.job_id].recipe)[:12]) for r in runs] == \
        [(r.step_id, r.recipe_hash[:12]) for r in runs]
    assert all(jobs[r.job_id].start_count == 1 for r in runs)
    assert all_leases_free(ledger, sim, "HP1")
    ledger.dispose()
