"""The lot flow: one Prefect flow run per lot over its product's route. Each step is a task that
dispatches to a capable, free tool (a lease in the ledger), runs the job through the driver, checks
the route's specs and commits. A step the ledger already has COMPLETE is never run again; a step
that was cut off is reattached on its tool by its job id; a hold stops the lot with its reason."""
from __future__ import annotations

import line.prefect_env  # noqa: F401

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.states import Completed, State

from line.config import load_line, rebind_ports
from line.dashboard import publish_line, publish_lot
from line.dispatch import candidates, preference
from line.holds import apply_decision
from line.leases import LotBusy, claim_any, lot_lease, orchestrator_id
from line.ledger import Ledger
from line.ledger.store import shared_ledger
from line.recipes.catalog import RecipeCatalog
from line.recipes.identity import NotApproved, VersionChanged, ensure_runnable
from line.recipes.linter import lint
from line.recipes.qualification import unrunnable_steps
from line.recipes.route import Route, load_route
from line.steps import StepOutcome, ToolStep, job_id_for
from line.yamlio import DocumentError

if TYPE_CHECKING:
    from line.holds import HoldDecision


def load_for_run(route_path: str, line_path: str, recipes_root: str, ports: dict | None,
                  endpoint_ports: dict | None) -> tuple[Route, Any]:
    """The route (linted) and line config, loaded once per process and again only when a file it
    was made from changed (the route, the line config, the recipes the route uses): every step task
    asks, loading and linting a route costs ~0.2 s, and statting its files well under 1 ms."""
    key = (route_path, line_path, recipes_root, json.dumps(ports, sort_keys=True),
           json.dumps(endpoint_ports, sort_keys=True))
    with _loaded_lock:
        known = _loaded.get(key)
        if known is None or _fingerprint(known[0]) != known[1]:
            route, line = _load_for_run(route_path, line_path, recipes_root, ports, endpoint_ports)
            files = [route_path, line_path, *sorted({rs.recipe.path for rs in route.steps})]
            _loaded[key] = known = (files, _fingerprint(files), (route, line))
        return known[2]


_loaded: dict[tuple, tuple[list[str], tuple, tuple[Route, Any]]] = {}
_loaded_lock = threading.Lock()


def _fingerprint(files: list[str]) -> tuple:
    out = []
    for f in map(Path, files):
        try:
            st = f.stat()
        except OSError:
            out.append((str(f), None))      # gone: differs from what was loaded
            continue
        out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)


def _load_for_run(route_path: str, line_path: str, recipes_root: str, ports: dict | None,
                  endpoint_ports: dict | None) -> tuple[Route, Any]:
    line = load_line(line_path)
    if ports:
        line = rebind_ports(line, ports, endpoint_ports)
    # lint only: whether each step has a tool is asked when the lot starts (`load_runnable_route`) and
    # again by each step at dispatch, where a tool gone since is a NO_TOOL hold, not a crashed lot
    route = load_route(route_path, RecipeCatalog(recipes_root, line.tools))
    errors = [p for p in lint(route) if p.severity == "error"]
    if errors:
        raise DocumentError(errors)
    return route, line


@task(name="route-step", retries=0, cache_policy=NO_CACHE, task_run_name="{step_id}")
def route_step_task(lot_id: str, step_id: str, route_path: str, line_path: str, recipes_root: str,
                    wafers: list[str], db_url: str | None, ports: dict | None, endpoint_ports: dict | None,
                    rework: int, flow_run_id: str) -> dict[str, Any] | Completed:
    route, line = load_for_run(route_path, line_path, recipes_root, ports, endpoint_ports)
    rs = next(s for s in route.steps if s.step.id == step_id)
    ledger = shared_ledger(db_url)   # one engine per process, not one per step
    tools = candidates(line, rs.step.tool_kind, rs.recipe.name, rs.body)
    earlier = ledger.find_step(lot_id, step_id, rework)
    if earlier is not None and earlier.tool_id:
        # the job of a step that was started lives on its tool: go back there, never elsewhere
        tools = [t for t in tools if t.id == earlier.tool_id] or [line.tool(earlier.tool_id)]
    if not tools:
        run = ledger.begin_step(lot_id, step_id, rs.step.tool_kind, "", rs.recipe.name, rs.recipe.version,
                                rs.sha256, job_id_for(lot_id, step_id, rework), rework, rs.step.operation, flow_run_id)
        ledger.finish_step(run.id, "ON_HOLD")
        reason = (f"no {rs.step.tool_kind} on line {line.metadata.name} may run {rs.recipe.ref}: "
                  + line.why_none_may_run(rs.step.tool_kind, rs.recipe.name, rs.body))
        ledger.open_hold(lot_id, run.id, "NO_TOOL", reason)
        return StepOutcome(lot_id, step_id, run.id, "", run.job_id, rs.recipe.ref, rs.sha256, "ON_HOLD",
                           "NO_TOOL", reason).to_dict()
    holder = job_id_for(lot_id, step_id, rework)
    with claim_any(ledger, preference(ledger, tools), holder) as tool_id:
        outcome = ToolStep(ledger, line.tool(tool_id), rs.recipe, lot_id, step_id, wafers, rework, flow_run_id,
                           parameters=rs.parameters, specs=rs.step.specs, leased=True,
                           operation=rs.step.operation).execute()
    log = get_run_logger()
    if outcome.status == "COMPLETE":
        log.info(outcome.headline)
        return outcome.to_dict()
    log.warning(outcome.headline)
    # the task did its job (the step is recorded and the lot held), but the UI must not show it green
    return Completed(name="OnHold", message=outcome.headline, data=outcome.to_dict())


@flow(name="lot", persist_result=False)
def lot_flow(lot_id: str, route_path: str, wafer_count: int = 25, line_path: str = "deploy/lines/sim.yaml",
             recipes_root: str = "recipes", db_url: str | None = None, ports: dict | None = None,
             endpoint_ports: dict | None = None, priority: int = 0, hold_timeout_s: int = 0) -> dict[str, Any]:
    """Run a lot through its product's route. Safe to run again for the same lot: finished steps are
    skipped, a step cut off half-way is reattached on its tool, never repeated. On a hold the flow
    pauses for an operator's typed decision when `hold_timeout_s` > 0, else it ends ON_HOLD. One
    orchestrator per lot: the lot's lease in the ledger refuses a second live one."""
    route, line = load_for_run(route_path, line_path, recipes_root, ports, endpoint_ports)
    ledger = Ledger(db_url)
    run_id = str(get_run_context().flow_run.id)
    try:
        if ledger.lot(lot_id) is None and (unrunnable := unrunnable_steps(route, line)):
            raise DocumentError(unrunnable)      # a new lot: refused before anything is recorded or moves
        ledger.ensure_lot(lot_id, wafer_count, product=route.spec.product, route=route.ref, priority=priority)
        try:
            with lot_lease(ledger, lot_id, orchestrator_id(run_id)):
                def run_step(rs: Any, rework: int, live: list[str]) -> dict[str, Any]:
                    out = route_step_task(lot_id, rs.step.id, route_path, line_path, recipes_root, live, db_url,
                                          ports, endpoint_ports, rework, run_id)
                    return out.result() if isinstance(out, State) else out   # a held step returns its state

                return _run_route(ledger, line, route, lot_id, run_id, hold_timeout_s, run_step)
        except LotBusy as busy:
            get_run_logger().warning(str(busy))
            return {"lot_id": lot_id, "status": "RUNNING_ELSEWHERE", "reason": str(busy), "steps": []}
        finally:
            publish_line(ledger, line, force=True)
    finally:
        ledger.dispose()


def _run_route(ledger: Ledger, line: Any, route: Route, lot_id: str, run_id: str, hold_timeout_s: int,
               run_step: Any) -> dict[str, Any]:
    try:
        ensure_runnable(ledger, "Route", route.name, route.version, route.sha256, route.path)
    except (VersionChanged, NotApproved) as exc:
        ledger.open_hold(lot_id, None, "RECIPE", str(exc))
        return {"lot_id": lot_id, "status": "ON_HOLD", "reason": str(exc), "steps": []}
    ledger.set_lot_status(lot_id, "RUNNING", trigger="dispatch")
    done = {r.step_id for r in ledger.step_runs(lot_id) if r.status in ("COMPLETE", "ACCEPTED")}
    outcomes: list[dict[str, Any]] = []
    for rs in route.steps:
        if rs.step.id in done:
            continue
        rework = next_rework(ledger, lot_id, rs.step.id)
        while True:
            live = [w.id for w in ledger.wafers(lot_id) if w.state != "SCRAPPED"]
            result = run_step(rs, rework, live)
            outcomes.append(result)
            publish_line(ledger, line)
            if result["status"] == "COMPLETE":
                break
            publish_lot(ledger, lot_id, route)
            headline = StepOutcome(**result).headline
            if hold_timeout_s <= 0:
                return {"lot_id": lot_id, "status": "ON_HOLD", "reason": headline, "steps": outcomes}
            answer = ask_operator(ledger, lot_id, headline, hold_timeout_s)
            if answer is None:                      # nobody decided in time: the lot stays on hold
                return {"lot_id": lot_id, "status": "ON_HOLD", "steps": outcomes,
                        "reason": f"{headline} — no decision within {hold_timeout_s} s"}
            apply_decision(ledger, lot_id, result["step_run_id"], answer)
            if answer.decision == "abort":
                publish_lot(ledger, lot_id, route)
                return {"lot_id": lot_id, "status": "ABORTED", "reason": headline, "steps": outcomes}
            if answer.decision == "rework":
                rework += 1
                continue
            break                                   # continue / scrap: the step was accepted as it is
    ledger.set_lot_status(lot_id, "COMPLETE", trigger="route-complete")
    publish_lot(ledger, lot_id, route)
    return {"lot_id": lot_id, "status": "COMPLETE", "steps": outcomes}


def next_rework(ledger: Ledger, lot_id: str, step_id: str) -> int:
    """The rework number to run a step at: the last one begun (a resumed step is reattached), or
    the next when an operator decided to rework it while no orchestrator was waiting."""
    runs = [r for r in ledger.step_runs(lot_id) if r.step_id == step_id]
    if not runs:
        return 0
    last = max(runs, key=lambda r: r.rework)
    decided = [h.decision for h in ledger.holds(lot_id) if h.step_run_id == last.id and h.decision]
    return last.rework + 1 if last.status == "ON_HOLD" and decided and decided[-1] == "rework" else last.rework


def ask_operator(ledger: Ledger, lot_id: str, headline: str, timeout_s: int) -> "HoldDecision | None":
    """Pause the flow run for a typed decision (the Prefect UI's resume form, or the input API);
    None when nobody decided within the timeout."""
    from prefect.exceptions import FlowPauseTimeout
    from prefect.flow_runs import pause_flow_run

    from line.holds import HoldDecision, pending_hold, record_decision

    hold = pending_hold(ledger, lot_id)
    get_run_logger().warning(f"{headline} — waiting for an operator decision (continue / rework / scrap / abort)")
    try:
        answer = pause_flow_run(wait_for_input=HoldDecision.with_initial_data(
            description=f"**Lot {lot_id} is on hold.**\n\n{headline}\n\nDecide: continue, rework the step, scrap "
                        "named wafers, or abort the lot.", decision="continue"),
            timeout=timeout_s, poll_interval=2, key=f"hold-{hold.id if hold else 0}")
    except FlowPauseTimeout:
        get_run_logger().warning(f"no decision within {timeout_s} s: lot {lot_id} stays on hold; answer it with "
                                 "`bumpline lot answer`, then `bumpline resume`")
        return None
    if hold is not None:
        record_decision(ledger, hold.id, answer)
    return answer
