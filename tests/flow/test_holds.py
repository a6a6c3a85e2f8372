"""Holds as the README promises them, through real steps on simulated tools: each hold reason
(OUT_OF_SPEC, INTERLOCK, COMMUNICATION, NO_TOOL) in the ledger with the lot ON_HOLD, and a route no
tool may run refused before any wafer moves; one live orchestrator per lot; operator decisions
(continue, scrap, abort) answered with `bumpline lot answer` to a flow paused on the hold, and a
hold nobody answers in time; production mode holding a draft route with reason RECIPE before any
tool sees a job. (Rework answered from the CLI: tests/e2e/test_kill_resume.py.)"""
from __future__ import annotations

import inspect
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drivers.errors import CommunicationLost
from drivers.jobs import body_hash
from drivers.transport.modbus import ModbusTransport
from line.flows import lot_step_flow
from line.holds import NotYetWaiting, waiting_flow_run
from line.ledger import Ledger
from line.lot_flow import lot_flow
from line.recipes.catalog import RecipeCatalog
from line.recipes.identity import approve
from line.recipes.route import Route, load_route
from line.yamlio import DocumentError
from tests.support import ROOT, SEED, cli, cli_env, job_processing, simulated, wait_until

pytestmark = pytest.mark.prefect
RECIPES = str(ROOT / "recipes")
A = str(ROOT / "recipes/routes/product-a-spacing-pad-bump.yaml")
C = str(ROOT / "recipes/routes/product-c-paste-core-bump.yaml")
AFTER_C03 = ("C04", "C04b", "C05", "C06", "C07")   # product C's steps after its cup metal
PRINTERS = ("SP01", "SP02")
SPUTTERS = ("PVD01", "PVD02")


# ---- helpers -----------------------------------------------------------------------------------
class InThread:
    """A flow run in a thread of its own (what a second orchestrator, or an operator, runs beside)."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.out: Any = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.out = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the test by result()
                self.error = exc

        self.thread = threading.Thread(target=run, name="flow-under-test", daemon=True)
        self.thread.start()

    def done(self) -> bool:
        return not self.thread.is_alive()

    def result(self, timeout_s: float = 200) -> Any:
        wait_until(self.done, timeout_s, "the flow run to end")
        if self.error is not None:
            raise self.error
        return self.out


def lot_jobs(sim: Any, lot_id: str) -> dict[str, Any]:
    """Every job the simulated tools have for this lot: job id → SimJob."""
    return {jid: job for tool in sim.tools.values() for jid, job in tool.jobs.items() if jid.startswith(f"{lot_id}.")}


def bring_on(sim: Any, route_path: str, lot_id: str, wafers: int = 1) -> Route:
    """The lot's wafers arrive at the simulated line with their product's incoming design."""
    route = load_route(route_path, RecipeCatalog(RECIPES))
    design = {n: r.model_dump() for n, r in route.spec.incoming.items()}
    for slot in range(1, wafers + 1):
        sim.world.start_wafer(f"{lot_id}.{slot:02d}", design)
    return route


def all_leases_free(ledger: Ledger, sim: Any, lot_id: str) -> bool:
    return all(ledger.lease_holder(t) is None for t in sim.tools) and ledger.lease_holder(f"lot:{lot_id}") is None


def plc_line(path: Path, sim: Any, comm_budget_s: float = 30.0) -> Path:
    """A line config of the simulated PLC tools (Modbus TCP) on their real ports."""
    tools = "".join(f"  - id: {tid}\n    kind: {tool.kind}\n    address: modbus-tcp://127.0.0.1:{sim.ports()[tid]}/1\n"
                    f"    comm_budget_s: {comm_budget_s}\n" for tid, tool in sim.tools.items())
    path.write_text(f"apiVersion: bumpline/v1\nkind: Line\nmetadata: {{name: plc-line}}\ntools:\n{tools}")
    return path


def modbus_answers(port: int) -> bool:
    """A new Modbus TCP connection to the port gets an answer (one try, no reconnects)."""
    probe = ModbusTransport("probe", "127.0.0.1", port, timeout_s=1, reconnect_attempts=0)
    try:
        probe.read(0, 1)
        return True
    except CommunicationLost:
        return False
    finally:
        probe.close()


# ---- hold reasons through a real step ----------------------------------------------------------
def test_a_result_outside_its_limits_holds_the_lot_out_of_spec(prefect_server, sim, line_file, db_url):
    tolerance = 0.01     # % of target: the sputter's 1.5 % thickness noise lands outside it
    out = lot_step_flow("HS1", 1, "PVD01", str(SEED), str(line_file), db_url=db_url, tolerance_pct=tolerance)
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
    out = lot_step_flow("HS2", 1, "PVD01", str(SEED), str(line_file), db_url=db_url)
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
        flow = InThread(lot_step_flow, "HC1", 1, "CURE01", recipe, str(line), db_url=sqlite_url)
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
        again = lot_step_flow("HC1", 1, "CURE01", recipe, str(line), db_url=sqlite_url)
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
        lot_flow("HN1", A, 1, str(line), RECIPES, sqlite_url, ports=sim.ports(), endpoint_ports=sim.endpoint_ports())
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
    flow = InThread(lot_flow, "HN2", C, 1, line_file, RECIPES, sqlite_url)
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
    first = InThread(lot_flow, "HB1", C, 1, line_file, RECIPES, sqlite_url)
    ledger = Ledger(sqlite_url)
    try:
        wait_until(lambda: job_processing(sim, "HB1.C01.r0") or first.done(), 120, "HB1's first step processing")
        assert not first.done(), first.result()
        holder = ledger.lease_holder("lot:HB1")
        assert holder and holder.endswith(f":{os.getpid()}")
        # a second orchestrator, from another process: refused, naming who runs the lot
        second = cli("lot", "start", "--route", C, "--lot", "HB1", "--wafers", "1", "--line", line_file, env=env)
        assert second.returncode == 2, second.stdout + second.stderr
        assert "HB1 RUNNING_ELSEWHERE" in second.stdout and holder in second.stdout, second.stdout
        # … and one in this process too
        again = lot_flow("HB1", C, 1, line_file, RECIPES, sqlite_url)
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
    flow = InThread(lot_flow, lot_id, C, wafers, line_file, RECIPES, db, hold_timeout_s=200)
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
    after the held step runs, and the run ends like any lot that ends on hold (exit 2, one line)."""
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
    assert run.returncode == 2 and "Traceback" not in run.stderr, f"exit {run.returncode}, ending: {last}"
    assert "HT1 ON_HOLD" in run.stdout and "MISALIGNMENT" in run.stdout, run.stdout


# ---- production mode at route level ------------------------------------------------------------
def test_production_mode_holds_a_draft_route_before_any_tool_and_runs_it_approved(prefect_server, sim_line_file,
                                                                                  sqlite_url, monkeypatch):
    sim, line_file = sim_line_file
    monkeypatch.setenv("BUMPLINE_MODE", "production")
    route = bring_on(sim, C, "HP1")
    out = lot_flow("HP1", C, 1, line_file, RECIPES, sqlite_url)
    assert out["status"] == "ON_HOLD" and out["steps"] == [], out
    ledger = Ledger(sqlite_url)
    (hold,) = ledger.holds("HP1")
    assert hold.reason_type == "RECIPE" and f"{route.ref} is a draft" in hold.reason and hold.step_run_id is None
    assert ledger.lot("HP1").status == "ON_HOLD" and ledger.lot("HP1").hold_reason == hold.reason
    assert ledger.step_runs("HP1") == [] and lot_jobs(sim, "HP1") == {}          # nothing reached a tool
    assert not sim.world.wafer("HP1.01").history
    assert all_leases_free(ledger, sim, "HP1")
    # approved — the route and every recipe it uses — the lot runs
    approve(ledger, "Route", route.name, route.version, route.sha256, route.path, by="qa-1")
    for recipe in {rs.recipe.ref: rs.recipe for rs in route.steps}.values():
        approve(ledger, "ToolRecipe", recipe.name, recipe.version, recipe.sha256, recipe.path, by="qa-1")
    again = lot_flow("HP1", C, 1, line_file, RECIPES, sqlite_url)
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
