"""`bumpline lot start|answer` and `bumpline resume`: run a product lot over its route against the
line's tools (simulators or real), answer its holds, and pick up every lot whose orchestrator died."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, cast
from uuid import UUID

import typer
from rich.markup import escape

from line.arrival import bring_onto_line
from line.cli import exits
from line.cli.common import LineOption, console, err, existing, or_exit, warm_up
from line.config import load_line
from line.ledger import Ledger
from line.recipes.catalog import RecipeCatalog
from line.recipes.qualification import load_runnable_route
from line.recipes.route import Route, load_route

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun


def start(route: str = typer.Option(..., "--route", "-r", help="Route YAML"),
          lot: str = typer.Option(..., "--lot", help="lot id"),
          wafers: int = typer.Option(25, "--wafers", "-n", min=1, max=25, help="wafers in the lot (one cassette: 1–25)"),
          priority: int = typer.Option(0, help="the lot's priority: higher goes first in the dispatch queue"),
          hold_timeout: int = typer.Option(0, help="seconds a hold waits for an operator decision (0: end on hold)"),
          recipes: str = typer.Option("recipes", "--recipes", help="folder holding the recipes, routes and products"),
          line: str = LineOption) -> None:
    """Run one lot over its route; the tools must be up (`bumpline sim up`) or real."""
    from line.lot_flow import drive_lot

    cfg = or_exit(lambda: load_line(existing(line)))
    ledger = Ledger()
    new = ledger.lot(lot) is None
    ledger.dispose()
    # a new lot: lint and tools checked before any wafer moves; a lot carried on holds NO_TOOL at a
    # step whose tool has gone since, as its flow would
    r = or_exit(lambda: load_runnable_route(existing(route), recipes, cfg) if new
                else load_route(existing(route), RecipeCatalog(recipes, cfg.tools)))
    if new and not bring_onto_line(cfg, r, lot, wafers) and cfg.simulation is not None:
        err.print("[yellow]note[/yellow] simulator control port not reachable: wafers start as generic incoming")
    report(drive_lot(lot, route, wafers, line, recipes, priority=priority, hold_timeout_s=hold_timeout))


def valid_routes(recipes: str, line: str) -> dict[str, Route]:
    """Route ref (name@vN) → route, for every valid route under `recipes`."""
    cfg = load_line(line)
    catalog = RecipeCatalog(recipes, cfg.tools)
    routes = {}
    for path in sorted(Path(recipes).rglob("*.yaml")):
        try:
            r = load_route(path, catalog)
        except Exception:  # noqa: BLE001 - not a route, or not a valid one: nothing to resume with
            continue
        routes[r.ref] = r
    return routes


def resume(recipes: str = typer.Option("recipes", "--recipes", help="folder holding the recipes, routes and products"),
           line: str = LineOption,
           deployment: str = typer.Option("", help="submit each lot as a run of this deployment "
                                                   "(e.g. run-lot/bumpline) instead of running it here"),
           stale_after: int = typer.Option(60, help="with --deployment: seconds after which a run of it that a "
                                                    "worker took but never brought to the ledger counts as lost")) -> None:
    """Carry on every lot left RUNNING by a dead orchestrator: finished steps are skipped, a step
    cut off half-way is reattached on its tool (or held if the tool lost it), nothing runs twice.
    A lot whose orchestrator is alive (its lease in the ledger is renewed) is left alone."""
    from line.leases import flow_run_of, lot_orphaned, release_finished
    from line.lot_flow import drive_lot

    or_exit(lambda: load_line(existing(line)))
    routes = valid_routes(recipes, line)
    ledger = Ledger()
    for released in release_finished(ledger):
        console.print(f"released the lease of {released}: its holder had finished")
    stranded = []
    for lot in ledger.lots():
        if lot.status not in ("CREATED", "RUNNING"):     # CREATED: killed before it reached RUNNING
            continue
        holder = lot_orphaned(ledger, lot.id)
        if holder is None:
            console.print(f"{lot.id} is running under a live orchestrator ({ledger.lease_holder('lot:' + lot.id)})")
            continue
        if holder:
            mark_crashed(flow_run_of(holder), lot.id, f"orchestrator of lot {lot.id} died; resumed by `bumpline resume`")
        stranded.append((lot.id, lot.route, len(ledger.wafers(lot.id)), holder or f"{lot.updated_at:%Y%m%d%H%M%S%f}"))
    lost = lost_submissions(ledger, deployment, stale_after, {Path(r.path).stem: r.label for r in routes.values()}) if deployment else []
    ledger.dispose()
    for run, lot_id in lost:   # a worker died with the run before it reached the ledger: submit it again
        from prefect.deployments import run_deployment

        mark_crashed(str(run.id), lot_id, f"its worker died before lot {lot_id} reached the ledger; resubmitted by `bumpline resume`")
        again = run_deployment(deployment, parameters={**run.parameters, "lot_id": lot_id}, timeout=0,
                               idempotency_key=f"resubmit-{run.id}")
        console.print(f"resubmitting {lot_id} (flow run {run.name}) as flow run {cast('FlowRun', again).name}")
    if not stranded:
        console.print("no lot was left running")
        return
    missing = [(lot_id, ref) for lot_id, ref, *_ in stranded if ref not in routes]
    for lot_id, ref in missing:
        err.print(f"[red]error[/red] {lot_id}: route {ref} not found under {recipes}")
    todo = [t for t in stranded if t[1] in routes]
    if deployment:
        from prefect.deployments import run_deployment

        for lot_id, ref, n, incarnation in todo:
            # the same dead orchestrator is replaced once, however often resume runs (a timer)
            run = run_deployment(deployment, parameters={"route": Path(routes[ref].path).stem, "lot_id": lot_id,
                                                         "wafers": n}, timeout=0,
                                 idempotency_key=f"resume-{lot_id}-{incarnation}")
            console.print(f"resuming {lot_id} ({ref}) as flow run {cast('FlowRun', run).name} of {deployment}")
        raise typer.Exit(1 if missing else 0)
    if len(todo) > 1:
        warm_up()   # one Prefect start before the lots resume side by side
    for lot_id, ref, *_ in todo:
        console.print(f"resuming {lot_id} ({ref})")
    with ThreadPoolExecutor(max_workers=max(1, len(todo)), thread_name_prefix="resume") as pool:
        outs = list(pool.map(lambda t: drive_lot(t[0], routes[t[1]].path, t[2], line, recipes), todo))
    codes = [1 if missing else 0]
    for out in outs:
        if out["status"] == "RUNNING_ELSEWHERE":   # another resume (or worker) took it first: nothing to do here
            console.print(f"{out['lot_id']} is already being carried on: {escape(out.get('reason', ''))}", highlight=False)
            continue
        try:
            report(out)
        except typer.Exit as ended:
            codes.append(ended.exit_code)
    if max(codes):
        raise typer.Exit(max(codes))


def lost_submissions(ledger: Ledger, deployment: str, stale_after_s: int,
                     products: dict[str, str]) -> list[tuple]:
    """(run, lot id) of the runs of the deployment a worker took (PENDING, or RUNNING) more than
    `stale_after_s` ago whose lot the ledger has never seen: their worker died before the lot began.
    A run started with a blank lot id gets the id it would have made itself (`default_lot_id`, the
    product looked up by the run's `route` parameter, a route file's stem, in `products`)."""
    from datetime import datetime

    from prefect import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    from line.operate import default_lot_id

    with get_client(sync_client=True) as client:
        dep = client.read_deployment_by_name(deployment)
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.PENDING, StateType.RUNNING]))))
    now = datetime.now(UTC)
    lost = []
    for r in runs:
        if r.state is None or (now - r.state.timestamp).total_seconds() <= stale_after_s:
            continue
        lot_id = r.parameters.get("lot_id")
        if not lot_id and (product := products.get(str(r.parameters.get("route")))):
            lot_id = default_lot_id(product, str(r.id), r.expected_start_time or r.created or now)
        if lot_id and ledger.lot(lot_id) is None:
            lost.append((r, lot_id))
    return lost


def mark_crashed(flow_run_id: str, lot_id: str, message: str) -> None:
    """Prefect never hears from a killed process: its flow run stays RUNNING. Say what happened."""
    from prefect import get_client
    from prefect.states import Crashed

    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(flow_run_id)).state
            if state is not None and not state.is_final():
                client.set_flow_run_state(flow_run_id, Crashed(message=message), force=True)
                console.print(f"flow run {flow_run_id} of lot {lot_id} marked Crashed")
    except Exception as exc:  # noqa: BLE001 - another server, or gone: the ledger is the record
        err.print(f"[yellow]note[/yellow] flow run {flow_run_id} of lot {lot_id} not marked crashed: {escape(str(exc))}")


def answer(lot_id: str = typer.Argument(..., help="the held lot"),
           decision: str = typer.Option(..., "--decision", "-d", help="continue | rework | scrap | abort"),
           operator: str = typer.Option(..., "--operator", "-o", help="who decides (goes to the ledger)"),
           scrap: list[str] = typer.Option([], "--scrap", help="wafer id to scrap (repeat)"),
           note: str = typer.Option("", "--note", help="why (kept with the decision; shown by `lot show`)")) -> None:
    """Answer a lot's open hold — to the flow run paused on it (as the Prefect UI's form does), or,
    when none waits, into the ledger for `bumpline resume`."""
    from pydantic import ValidationError

    from line.holds import HoldDecision, answer_hold

    try:
        decided = HoldDecision(decision=decision, operator=operator, scrap_wafers=scrap, note=note)
    except ValidationError as exc:
        err.print(f"[red]error[/red] {escape(exc.errors()[0]['msg'])}: decision must be one of continue, rework, "
                  "scrap, abort")
        raise typer.Exit(1) from None
    if decided.decision == "scrap" and not scrap:
        err.print("[red]error[/red] scrap needs --scrap WAFER (one per wafer)")
        raise typer.Exit(1)
    ledger = Ledger()
    try:
        console.print(answer_hold(ledger, lot_id, decided))
    except LookupError as exc:
        err.print(f"[red]error[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        ledger.dispose()


def report(out: dict) -> None:
    style = {"COMPLETE": "green"}.get(out["status"], "red")
    console.print(f"[{style}]{out['lot_id']} {out['status']}[/{style}] {escape(out.get('reason', ''))}",
                  highlight=False, soft_wrap=True)
    if out["status"] != "COMPLETE":
        raise typer.Exit(exits.NOT_COMPLETE)
