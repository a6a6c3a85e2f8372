"""2. Step overhead: the wall time of a route step run by the line (`line.lot_flow.lot_flow`, one
Prefect task per step) against a bare Prefect task making the same driver calls, and against the
driver calls alone — per step and per full route of each product, with the simulator at its
highest speed so that what remains is the host's own time.

Each mode takes a fresh lot of 5 wafers through the whole route on the same simulated line, one
after the other: driver calls alone, then the bare Prefect flow, then `lot_flow`. A step of
`lot_flow` is timed around the task call in the flow body (the module's `route_step_task` is
wrapped in a timer for this process only — nothing in `line/` changes), from its start to the
next step's start, so the flow's own work between tasks (ledger reads, the line's dashboard
artifact) counts for the step it follows; the bare flow's steps are timed the same way."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from bench import prefect_server
from bench.common import (
    RECIPES,
    TOP_SPEED,
    Monitor,
    Section,
    clear_alarms,
    driver_step,
    instrumented,
    load_routes,
    median,
    new_id,
    pick_tool,
    scratch_dir,
    sim_line,
    start_wafers,
    warm_prefect,
)
from line.config import ToolConfig

LOT_SIZE = 5


@task(name="bare-step", retries=0, cache_policy=NO_CACHE, task_run_name="{step_id}")
def bare_step(step_id: str, tool_id: str, kind: str, address: str, endpoints: dict[str, str],
              body: dict[str, Any], sha256: str, job_id: str, wafers: list[str]) -> list[str]:
    """What a user would write instead: one task per step that only drives the tool."""
    tool = ToolConfig(id=tool_id, kind=kind, address=address, endpoints=endpoints)
    return driver_step(tool, body, sha256, job_id, wafers)


@flow(name="bare-route", persist_result=False)
def bare_route(lot_id: str, plan: list[dict[str, Any]], wafers: list[str]) -> list[tuple[float, float]]:
    spans = []
    for p in plan:
        t0 = time.time()
        bare_step(p["step_id"], p["tool_id"], p["kind"], p["address"], p["endpoints"], p["body"], p["sha256"],
                  f"{lot_id}.{p['step_id']}.r0", wafers)
        spans.append((t0, time.time()))
    return spans


def per_step(spans: list[tuple[float, float]]) -> list[float]:
    """A step's wall time: from its task's start to the next task's start (the flow's own work
    between tasks belongs to the step before); the last step gets the median such gap."""
    gaps = [b[0] - a[1] for a, b in zip(spans, spans[1:], strict=False)]
    tail = sorted(gaps)[len(gaps) // 2] if gaps else 0.0
    return [b[0] - a[0] for a, b in zip(spans, spans[1:], strict=False)] + ([spans[-1][1] - spans[-1][0] + tail] if spans else [])


@dataclass
class RouteTimes:
    product: str
    steps: list[tuple[str, str]] = field(default_factory=list)            # (step id, tool kind)
    driver: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    line: list[float] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds of the whole route in each mode: this process less the simulators' thread"""
    server_cpu: dict[str, float] = field(default_factory=dict)
    """the Prefect server's CPU seconds over the same run"""


def plan_for(cfg: Any, route: Any) -> list[dict[str, Any]]:
    out = []
    for rs in route.steps:
        tool = pick_tool(cfg, rs)
        out.append({"step_id": rs.step.id, "tool_id": tool.id, "kind": tool.kind, "address": tool.address,
                    "endpoints": dict(tool.endpoints), "body": rs.parameters.model_dump(mode="json"),
                    "sha256": rs.sha256, "tool": tool})
    return out


def run_driver(sim: Any, route: Any, plan: list[dict[str, Any]]) -> tuple[float, list[float], str]:
    lot = new_id(f"{route.label}DRV")
    wafers = start_wafers(sim, route, lot, LOT_SIZE)
    times, ok = [], True
    t0 = time.perf_counter()
    for p in plan:
        t = time.perf_counter()
        statuses = driver_step(p["tool"], p["body"], p["sha256"], f"{lot}.{p['step_id']}.r0", wafers)
        times.append(time.perf_counter() - t)
        ok = ok and set(statuses) == {"PROCESSED"}
    return time.perf_counter() - t0, times, "COMPLETE" if ok else "NOT PROCESSED"


def run_bare(sim: Any, route: Any, plan: list[dict[str, Any]]) -> tuple[float, list[float], str]:
    lot = new_id(f"{route.label}BARE")
    wafers = start_wafers(sim, route, lot, LOT_SIZE)
    clean = [{k: v for k, v in p.items() if k != "tool"} for p in plan]
    t0 = time.perf_counter()
    spans = bare_route(lot, clean, wafers)
    return time.perf_counter() - t0, per_step(spans), "COMPLETE"


def run_line(sim: Any, route: Any, db_url: str) -> tuple[float, list[float], str]:
    import line.lot_flow as lf

    records: list[dict[str, Any]] = []
    with instrumented(records):
        lot = new_id(route.label)
        start_wafers(sim, route, lot, LOT_SIZE)
        t0 = time.perf_counter()
        out = lf.drive_lot(lot, str(route.path), LOT_SIZE, sim.line_file, str(RECIPES), db_url)
        total = time.perf_counter() - t0
    return total, per_step([(r["start"], r["end"]) for r in records]), out["status"]


def measure(products: str = "ABCD", warmup: bool = True) -> tuple[list[RouteTimes], str]:
    """Every product's route in the three modes; returns the times and the ledger used."""
    from line.ledger import Ledger

    warm_prefect()
    routes = load_routes(products if not warmup or "C" in products else products + "C")
    db_url = f"sqlite:///{scratch_dir() / 'ledger.db'}"
    Ledger(db_url).dispose()                   # the schema is made before anything is timed
    out = []
    with sim_line(speed=TOP_SPEED) as (sim, cfg):
        if warmup:                             # first calls import and cache things: not a figure
            plan = plan_for(cfg, routes["C"])
            run_driver(sim, routes["C"], plan), run_bare(sim, routes["C"], plan), run_line(sim, routes["C"], db_url)
        for product in products:
            route = routes[product]
            plan = plan_for(cfg, route)
            rt = RouteTimes(product, [(p["step_id"], p["kind"]) for p in plan])
            for mode, fn in (("driver", lambda route=route, plan=plan: run_driver(sim, route, plan)),
                             ("bare", lambda route=route, plan=plan: run_bare(sim, route, plan)),
                             ("line", lambda route=route: run_line(sim, route, db_url))):
                clear_alarms(sim)
                with Monitor(sim._thread.native_id) as mon:
                    total, times, status = fn()
                setattr(rt, mode, times)
                rt.totals[mode], rt.status[mode] = total, status
                rt.cpu[mode], rt.server_cpu[mode] = mon.cpu, mon.kids_cpu
            out.append(rt)
    return out, db_url


def run(section: Section, quick: bool = False) -> list[RouteTimes]:
    results, _ = measure("C" if quick else "ABCD", warmup=not quick)
    all_line, all_bare, all_drv, r_lb, r_ld = [], [], [], [], []
    for rt in results:
        bad = {m: s for m, s in rt.status.items() if s != "COMPLETE"}
        note = f"{len(rt.steps)} steps" + (f"; NOT COMPLETE: {bad}" if bad else "")
        section.add(f"route {rt.product}: line (lot_flow)", rt.totals["line"], "s", "bare Prefect task",
                    rt.totals["bare"], goal="≤ 1.3×", note=note)
        section.add(f"route {rt.product}: line (lot_flow)", rt.totals["line"], "s", "driver calls alone",
                    rt.totals["driver"])
        section.add(f"route {rt.product}: bare Prefect task", rt.totals["bare"], "s", "driver calls alone",
                    rt.totals["driver"])
        if len(rt.line) == len(rt.bare) == len(rt.driver):
            all_line += rt.line
            all_bare += rt.bare
            all_drv += rt.driver
            r_lb += [a / b for a, b in zip(rt.line, rt.bare, strict=False)]
            r_ld += [a / b for a, b in zip(rt.line, rt.driver, strict=False)]
    if all_line:
        section.add("per step, median: line (lot_flow)", median(all_line), "s", "bare Prefect task", median(all_bare),
                    goal="≤ 1.3×", note=f"{len(all_line)} steps; median of per-step ratios {median(r_lb):.2f}×")
        section.add("per step, median: line (lot_flow)", median(all_line), "s", "driver calls alone", median(all_drv),
                    note=f"median of per-step ratios {median(r_ld):.2f}×")
        section.add("per step, median: bare Prefect task", median(all_bare), "s", "driver calls alone", median(all_drv))
        section.add("per step, median host time added by the line", median(all_line) - median(all_drv), "s")
    if results:
        steps = sum(len(rt.steps) for rt in results)
        cpu = {mode: 1000 * sum(rt.cpu.get(mode, 0.0) for rt in results) / steps for mode in ("line", "bare", "driver")}
        server = {mode: 1000 * sum(rt.server_cpu.get(mode, 0.0) for rt in results) / steps for mode in ("line", "bare")}
        section.add("orchestrator CPU per step, 1 lot: line (lot_flow)", cpu["line"], "ms", "bare Prefect task",
                    cpu["bare"], note=f"{steps} steps; Prefect server {server['line']:.0f} ms a step (bare task "
                                      f"{server['bare']:.0f}); simulators' thread left out")
        section.add("orchestrator CPU per step, 1 lot: bare Prefect task", cpu["bare"], "ms", "driver calls alone",
                    cpu["driver"], note=f"what Prefect's task engine costs a step here: {cpu['bare'] - cpu['driver']:.0f} ms "
                                        "— a floor under the line's figure while each step is a Prefect task")
        section.data["cpu_ms"] = cpu
        section.data["medians"] = {"line": median(all_line), "bare": median(all_bare), "driver": median(all_drv)}
    section.text += [
        f"Simulator clock ×{TOP_SPEED:,.0f} (its highest usable speed, see `bench/common.py`), lots of {LOT_SIZE} "
        f"wafers, ledger on SQLite (the default), {prefect_server.described} already started. Each product's route "
        "runs three times on the same line, one mode after the other, each with a fresh lot: the driver calls "
        "alone (connect, set up, start, poll to the end, results, close — the calls `ToolStep` makes), a bare "
        "Prefect flow with one task per step making those calls, and `lot_flow` itself. One run of each; the "
        "machine is shared, so single steps are noisy — the route totals and medians are the figures to trust.",
        "", "Per step (seconds):", "", "| step | kind | line | bare task | driver | line/bare | line/driver |",
        "|---|---|---:|---:|---:|---:|---:|"]
    for rt in results:
        if not (len(rt.line) == len(rt.bare) == len(rt.driver)):
            section.text.append(f"| {rt.product}: step counts differ ({rt.status}) | | | | | | |")
            continue
        for (sid, kind), a, b, c in zip(rt.steps, rt.line, rt.bare, rt.driver, strict=False):
            section.text.append(f"| {sid} | {kind} | {a:.3f} | {b:.3f} | {c:.3f} | {a / b:.2f} | {a / c:.2f} |")
    return results


def profile_line_step(section: Section) -> None:
    """pyinstrument over one lot_flow of product C (kept under bench/profiles/): how a line step's
    time splits between Prefect, the driver calls, the ledger and the rest, and what that makes of
    the gap to a bare task. Class-level buckets, so the table survives refactoring of `line/`."""
    from bench.profiles import breakdown, class_time, outermost_time, profile, table

    routes = load_routes("C")
    db_url = f"sqlite:///{scratch_dir() / 'ledger.db'}"
    with sim_line(speed=TOP_SPEED) as (sim, cfg):
        route = routes["C"]
        run_line(sim, route, db_url)                                   # warm
        clear_alarms(sim)
        s_line = profile(lambda: run_line(sim, route, db_url), "step_overhead_lot_flow")
    n = len(route.steps)
    flow_total = outermost_time(s_line, ["lot_flow"])["lot_flow"]
    flow = outermost_time(s_line, ["route_step_task", "run_task_sync"], under="lot_flow")
    task = flow["route_step_task"]
    drivers = class_time(s_line, lambda c: c.endswith("Driver"), under="route_step_task",
                         exclude=lambda c: c == "Ledger")
    ledger_task = class_time(s_line, lambda c: c == "Ledger", under="route_step_task")
    ledger_flow = class_time(s_line, lambda c: c == "Ledger", under="lot_flow") - ledger_task
    loader = outermost_time(s_line, ["load_plan"], under="lot_flow")["load_plan"]
    engine = flow["run_task_sync"] - task
    between = flow_total - flow["run_task_sync"] - loader
    parts = {"driver calls (connect, set up, start, poll, results, close)": drivers,
             "ledger calls in the task (dispatch, lease, events, progress, results)": ledger_task,
             "rest of the task (Prefect logger, state machine callbacks, …)": task - drivers - ledger_task,
             "the lot's plan, resolved once per lot (`load_plan`: route, recipes, line)": loader,
             "Prefect task engine around the task": engine,
             "the flow between and around tasks (its ledger calls: "
             f"{ledger_flow / n * 1e3:.0f} ms/step; lot lease, artifacts, flow run)": between}
    section.text += ["", f"**Where a line step's time goes** — pyinstrument over `lot_flow` for product C ({n} steps, "
                     "`bench/profiles/step_overhead_lot_flow.txt`). The profiler slows Python code more than waiting, "
                     "so read the shares:", "", "| part of a line step | ms per step (profiled) | share |",
                     "|---|---:|---:|"]
    section.text += [f"| {k} | {v / n * 1e3:.0f} | {v / flow_total * 100:.0f} % |" for k, v in parts.items()]
    tot, callees = breakdown(s_line, "route_step_task", top=8)
    section.text += ["", *table(tot, callees, "Inside `route_step_task` (all steps), by direct callee")]
    med = section.data.get("medians")
    if med:
        line_ms, bare_ms, drv_ms = med["line"] * 1e3, med["bare"] * 1e3, med["driver"] * 1e3
        share = {k: v / flow_total for k, v in parts.items()}
        non_driver = sorted(((k, v) for k, v in share.items() if not k.startswith("driver")), key=lambda kv: -kv[1])
        top = "; ".join(f"{k.split(' (')[0]} {v * 100:.0f} %" for k, v in non_driver[:3])
        section.why.append(
            f"- **Step overhead**: a line step takes {line_ms:.0f} ms (median over the routes' steps) where a bare "
            f"Prefect task making the same driver calls takes {bare_ms:.0f} ms ({line_ms / bare_ms:.1f}×) and the "
            f"driver calls alone {drv_ms:.0f} ms: the bare task's Prefect engine adds {bare_ms - drv_ms:.0f} ms, the "
            f"line {line_ms - drv_ms:.0f} ms. In the profile of a line step the driver calls are "
            f"{share[next(iter(parts))] * 100:.0f} % of the time; the largest other parts are {top}. "
            "The driver polls on a schedule set from the job's expected length (`line/pacing.py`), so bookkeeping "
            "between polls costs no wall time; what a status reply "
            "tells (job transition, wafer state, progress) and a step's end are one transaction each. The ledger "
            "time left is before the first poll and after the last: a commit per driver state change while setting "
            "up and starting (each must be on disk before the next command, so a resume knows what the tool was "
            "told), the dispatch queries, the lease's acquire and release, and the results — the next step down "
            "would be the lease and the step's begin in one transaction.")
