"""The lot flow: one Prefect flow run per lot over its product's route. Each step is a task that
dispatches to a capable, free tool (a lease in the ledger), runs the job through the driver, checks
the route's specs and commits. A step the ledger already has COMPLETE is never run again; a step
that was cut off is reattached on its tool by its job id; a hold stops the lot with its reason."""
from __future__ import annotations

import line.prefect_env  # noqa: F401

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context

from line.config import load_line, rebind_ports
from line.dispatch import candidates, preference
from line.leases import claim_any
from line.ledger import Ledger
from line.recipes.catalog import RecipeCatalog
from line.recipes.identity import NotApproved, VersionChanged, ensure_runnable
from line.recipes.linter import lint
from line.recipes.route import Route, load_route
from line.steps import StepOutcome, ToolStep, job_id_for
from line.yamlio import DocumentError


def load_for_run(route_path: str, line_path: str, recipes_root: str, ports: dict | None,
                 endpoint_ports: dict | None) -> tuple[Route, Any]:
    line = load_line(line_path)
    if ports:
        line = rebind_ports(line, ports, endpoint_ports)
    route = load_route(route_path, RecipeCatalog(recipes_root, line.tools))
    errors = [p for p in lint(route) if p.severity == "error"]
    if errors:
        raise DocumentError(errors)
    return route, line


@task(name="route-step", retries=0, cache_policy=NO_CACHE, task_run_name="{step_id}")
def route_step_task(lot_id: str, step_id: str, route_path: str, line_path: str, recipes_root: str,
                    wafers: list[str], db_url: str | None, ports: dict | None, endpoint_ports: dict | None,
                    rework: int, flow_run_id: str) -> dict[str, Any]:
    route, line = load_for_run(route_path, line_path, recipes_root, ports, endpoint_ports)
    rs = next(s for s in route.steps if s.step.id == step_id)
    ledger = Ledger(db_url)
    try:
        tools = candidates(line, rs.step.tool_kind, rs.body)
        earlier = ledger.find_step(lot_id, step_id, rework)
        if earlier is not None and earlier.tool_id:
            # the job of a step that was started lives on its tool: go back there, never elsewhere
            tools = [t for t in tools if t.id == earlier.tool_id] or [line.tool(earlier.tool_id)]
        if not tools:
            run = ledger.begin_step(lot_id, step_id, rs.step.tool_kind, "", rs.recipe.name, rs.recipe.version,
                                    rs.sha256, job_id_for(lot_id, step_id, rework), rework, rs.step.operation, flow_run_id)
            ledger.finish_step(run.id, "ON_HOLD")
            reason = f"no {rs.step.tool_kind} on line {line.metadata.name} accepts {rs.recipe.ref}"
            ledger.open_hold(lot_id, run.id, "NO_TOOL", reason)
            return StepOutcome(lot_id, step_id, run.id, "", run.job_id, rs.recipe.ref, rs.sha256, "ON_HOLD",
                               "NO_TOOL", reason).to_dict()
        holder = job_id_for(lot_id, step_id, rework)
        with claim_any(ledger, preference(ledger, tools), holder) as tool_id:
            outcome = ToolStep(ledger, line.tool(tool_id), rs.recipe, lot_id, step_id, wafers, rework, flow_run_id,
                               parameters=rs.parameters, specs=rs.step.specs, leased=True,
                               operation=rs.step.operation).execute()
    finally:
        ledger.dispose()
    log = get_run_logger()
    (log.info if outcome.status == "COMPLETE" else log.warning)(outcome.headline)
    return outcome.to_dict()


@flow(name="lot", persist_result=False)
def lot_flow(lot_id: str, route_path: str, wafer_count: int = 25, line_path: str = "deploy/lines/sim.yaml",
             recipes_root: str = "recipes", db_url: str | None = None, ports: dict | None = None,
             endpoint_ports: dict | None = None, priority: int = 0, hold_timeout_s: int = 0) -> dict[str, Any]:
    """Run a lot through its product's route. Safe to run again for the same lot: finished steps are
    skipped, a step cut off half-way is reattached on its tool, never repeated. On a hold the flow
    pauses for an operator's typed decision when `hold_timeout_s` > 0, else it ends ON_HOLD."""
    route, _ = load_for_run(route_path, line_path, recipes_root, ports, endpoint_ports)
    ledger = Ledger(db_url)
    run_id = str(get_run_context().flow_run.id)
    try:
        wafers = ledger.ensure_lot(lot_id, wafer_count, product=route.spec.product, route=route.ref, priority=priority)
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
            rework = max((r.rework for r in ledger.step_runs(lot_id) if r.step_id == rs.step.id), default=0)
            while True:
                live = [w.id for w in ledger.wafers(lot_id) if w.state != "SCRAPPED"]
                result = route_step_task(lot_id, rs.step.id, route_path, line_path, recipes_root, live, db_url,
                                         ports, endpoint_ports, rework, run_id)
                outcomes.append(result)
                if result["status"] == "COMPLETE":
                    break
                publish_lot(ledger, lot_id, route)
                headline = StepOutcome(**result).headline
                if hold_timeout_s <= 0:
                    return {"lot_id": lot_id, "status": "ON_HOLD", "reason": headline, "steps": outcomes}
                answer = ask_operator(ledger, lot_id, headline, hold_timeout_s)
                if answer.decision == "abort":
                    ledger.set_lot_status(lot_id, "ABORTED", f"aborted by {answer.operator}: {answer.note}", "abort")
                    publish_lot(ledger, lot_id, route)
                    return {"lot_id": lot_id, "status": "ABORTED", "reason": headline, "steps": outcomes}
                ledger.set_lot_status(lot_id, "RUNNING", trigger=f"operator-{answer.decision}")
                if answer.decision == "rework":
                    rework += 1
                    continue
                ledger.finish_step(result["step_run_id"], "ACCEPTED")   # continue / scrap: go on without a rerun
                break
        ledger.set_lot_status(lot_id, "COMPLETE", trigger="route-complete")
        publish_lot(ledger, lot_id, route)
        return {"lot_id": lot_id, "status": "COMPLETE", "steps": outcomes}
    finally:
        ledger.dispose()


def ask_operator(ledger: Ledger, lot_id: str, headline: str, timeout_s: int) -> "HoldDecision":
    """Pause the flow run for a typed decision (the Prefect UI's resume form, or the input API)."""
    from prefect.flow_runs import pause_flow_run

    from line.holds import HoldDecision, open_hold, record_decision

    hold = open_hold(ledger, lot_id)
    get_run_logger().warning(f"{headline} — waiting for an operator decision (continue / rework / scrap / abort)")
    answer = pause_flow_run(wait_for_input=HoldDecision.with_initial_data(
        description=f"**Lot {lot_id} is on hold.**\n\n{headline}\n\nDecide: continue, rework the step, scrap "
                    "named wafers, or abort the lot.", decision="continue"),
        timeout=timeout_s, poll_interval=2, key=f"hold-{hold.id if hold else 0}")
    if hold is not None:
        record_decision(ledger, hold.id, answer)
    return answer


def publish_lot(ledger: Ledger, lot_id: str, route: Route) -> None:
    """The operator's view of a lot in the Prefect UI: every step, its tool, recipe hash and result."""
    runs = {r.step_id: r for r in ledger.step_runs(lot_id)}
    lot = ledger.lot(lot_id)
    lines = [f"# Lot {lot_id} — product {route.spec.product} {route.spec.variant}".rstrip(), "",
             f"Route `{route.ref}` sha256 `{route.sha256[:16]}…` — **{lot.status}** {lot.hold_reason}", "",
             "| step | operation | tool | recipe (sha256) | status | wafers |", "|---|---|---|---|---|---|"]
    for rs in route.steps:
        r = runs.get(rs.step.id)
        if r is None:
            lines.append(f"| {rs.step.id} | {rs.step.operation} | | {rs.recipe.ref} | pending | |")
            continue
        results = ledger.results(r.id)
        ok = sum(1 for x in results if x.status == "PROCESSED")
        lines.append(f"| {rs.step.id} | {rs.step.operation} | {r.tool_id} | {r.recipe_name}@v{r.recipe_version} "
                     f"(`{r.recipe_hash[:10]}`) | {r.status} | {ok}/{len(results)} |")
    for h in ledger.holds(lot_id):
        lines += ["", f"Hold **{h.reason_type}**: {h.reason} — {h.decision or 'open'}"]
    key = "lot-" + "".join(c if c.isalnum() else "-" for c in lot_id.lower())
    create_markdown_artifact("\n".join(lines), key=key, description=f"Lot {lot_id}: {lot.status}")
