"""`bumpline run` and `bumpline demo`: a lot through a tool step, with live progress from the ledger."""
from __future__ import annotations

import socket
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from drivers.transport.address import parse_address
from line.cli import exits
from line.cli.common import LineOption, console, err, existing, or_exit
from line.cli.render import show_outcome
from line.cli.sim import parse_params, sim_line
from line.cli.verify import check_stacks
from line.config import ToolConfig, load_line, rebind_ports, save_line
from line.ledger import Ledger
from line.recipes.tool_recipe import ToolRecipe, load_tool_recipe
from line.steps import StepOutcome

SEED_RECIPE = "recipes/sputter/ti100-cu300-seed.yaml"


def new_lot_id(prefix: str = "LOT") -> str:
    return f"{prefix}-{datetime.now():%Y%m%d-%H%M%S}"


def reachable(tool: ToolConfig, host_port: tuple[str, int] | None = None) -> None:
    addr = parse_address(tool.address)
    host, port = host_port or (addr.host, addr.port)
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        err.print(f"[red]error[/red] {tool.id} does not answer at {tool.address} — is `bumpline sim up` running "
                  "(or the tool powered and on the network)?")
        raise typer.Exit(1) from None


def runnable(tool: ToolConfig, recipe: ToolRecipe) -> None:
    """Refuse up front (exit 1, nothing started) a recipe this tool may not run."""
    if why := tool.refusal(recipe.tool_kind, recipe.name, recipe.body):
        err.print(f"[red]error[/red] {recipe.path}: {recipe.ref} cannot run on {tool.id}: {why}", soft_wrap=True)
        raise typer.Exit(1)


def run_lot_with_progress(lot_id: str, wafers: int, tool_id: str, recipe: str, line: str,
                          tolerance_pct: float = 10.0, step_id: str = "S1") -> StepOutcome:
    """Run the lot flow over the recipe (a one-step route pinned to the tool) in a worker thread;
    draw progress from the ledger in this one."""
    import logging

    from line.lot_flow import drive_lot

    for h in logging.getLogger("prefect").handlers:  # the progress bar is the console view
        h.setLevel(logging.WARNING)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = drive_lot(lot_id, recipe, wafers, line, tool_id=tool_id, step_id=step_id,
                                     tolerance_pct=tolerance_pct)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="lot-flow", daemon=True)
    worker.start()
    ledger = Ledger()
    started = time.monotonic()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("starting Prefect (a cold start takes ~30 s here)…", total=wafers)
        while worker.is_alive():
            worker.join(0.2)
            runs = ledger.step_runs(lot_id) if ledger.lot(lot_id) else []
            if runs:
                p = runs[-1].progress or {}
                phase = p.get("phase") or p.get("job_state", "")
                bar.update(task, completed=p.get("wafers_done", 0),
                           description=f"{lot_id} on {tool_id}: {p.get('tool_state', 'SETTING_UP')} {phase} "
                                       f"wafer {p.get('wafer_index', 0)}/{wafers}")
        bar.update(task, description=f"{lot_id} on {tool_id}: done in {time.monotonic() - started:.1f} s")
    ledger.dispose()
    if "error" in box:
        raise box["error"]
    result = box["result"]
    if not result["steps"]:             # finished before, or another orchestrator has the lot: nothing ran here
        if result["status"] == "COMPLETE":
            console.print(f"{lot_id} is complete already: no step ran again")
            raise typer.Exit(0)
        err.print(f"[red]error[/red] {lot_id}: {result.get('reason', result['status'])}", soft_wrap=True)
        raise typer.Exit(1)
    return StepOutcome(**result["steps"][-1])


def run(recipe: str = typer.Option(..., "--recipe", "-r", help="ToolRecipe YAML"),
        tool: str = typer.Option(..., "--tool", "-t", help="tool id from the line config"),
        lot: str = typer.Option(None, "--lot", help="lot id (default LOT-<timestamp>)"),
        wafers: int = typer.Option(25, "--wafers", "-n", min=1, max=25, help="wafers in the lot (one cassette: 1–25)"),
        step: str = typer.Option("S1", help="step id recorded in the ledger"),
        tolerance: float = typer.Option(10.0, help="spec window around each target, %"),
        line: str = LineOption) -> None:
    """Run one lot through one tool step on the line (simulators must be up, or real tools)."""
    cfg = or_exit(lambda: load_line(existing(line)))
    tool_cfg = or_exit(lambda: cfg.tool(tool))
    runnable(tool_cfg, or_exit(lambda: load_tool_recipe(existing(recipe), [tool_cfg])))
    reachable(tool_cfg)
    lot_id = lot or new_lot_id()
    outcome = run_lot_with_progress(lot_id, wafers, tool, recipe, line, tolerance_pct=tolerance, step_id=step)
    ledger = Ledger()
    show_outcome(ledger, outcome)
    ledger.dispose()
    raise typer.Exit(exits.COMPLETE if outcome.status == "COMPLETE" else exits.NOT_COMPLETE)


def demo(wafers: int = typer.Option(25, "--wafers", "-n", min=1, max=25, help="wafers in the lot (one cassette: 1–25)"),
         fault: str = typer.Option(None, help="inject a fault first, e.g. 'hard_arc' or 'hard_arc:slot=7'"),
         tool: str = typer.Option("PVD01", "--tool", "-t", help="tool id from the line config"),
         recipe: str = typer.Option(SEED_RECIPE, "--recipe", "-r", help="ToolRecipe YAML"),
         line: str = LineOption) -> None:
    """Start the simulated line in this process and run a lot through the Ti/Cu seed step."""
    cfg = or_exit(lambda: load_line(existing(line)))
    tool_cfg = or_exit(lambda: cfg.tool(tool))
    rec = or_exit(lambda: load_tool_recipe(existing(recipe), [tool_cfg]))
    runnable(tool_cfg, rec)
    simline = sim_line(cfg, any_port=True, control_port=None).start_in_thread()
    try:
        if fault:
            name, _, params = fault.partition(":")
            simline.call(simline.inject, tool, name, **parse_params([p for p in params.split(",") if p]))
            console.print(f"[yellow]fault armed:[/yellow] {tool} {fault}")
        console.print(f"simulated line {cfg.metadata.name}: {len(simline.tools)} tools, clock ×{simline.clock.speed:g}")
        lot_id = new_lot_id("DEMO")
        t0 = time.monotonic()
        bound = save_line(rebind_ports(cfg, simline.ports(), simline.endpoint_ports(), speed=simline.clock.speed),
                          Path(tempfile.mkdtemp(prefix="bumpline-demo-")) / "line.yaml")
        outcome = run_lot_with_progress(lot_id, wafers, tool, recipe, bound)
        wall = time.monotonic() - t0
        ledger = Ledger()
        show_outcome(ledger, outcome)
        ledger.dispose()
        processed = [w for w, s in outcome.wafer_status.items() if s == "PROCESSED"]
        problems = check_stacks(simline.world.snapshot(), processed, rec.body["layers"])
        verdict = "[green]ok[/green]" if not problems else "[red]FAILED[/red]"
        console.print(f"world check {verdict}: {len(processed) - len({p.split(':')[0] for p in problems})}/"
                      f"{len(processed)} processed wafers carry the recipe's stack on a clean Al pad")
        for p in problems[:5]:
            console.print(f"  {p}")
        console.print(f"wall time {wall:.1f} s (simulated {simline.clock.now() / 60:.0f} min); ledger {ledger.url}")
    finally:
        simline.stop_thread()
    raise typer.Exit(exits.COMPLETE if outcome.status == "COMPLETE" and not problems else exits.NOT_COMPLETE)
