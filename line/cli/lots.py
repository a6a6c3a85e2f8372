"""`bumpline lot start` and `bumpline resume`: run a product lot over its route against the line's
tools (simulators or real), and pick up every lot whose orchestrator died."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from line.cli.common import LineOption, console, err, existing, or_exit
from line.cli.sim import control_for
from line.config import LineConfig, load_line
from line.ledger import Ledger
from line.recipes.catalog import RecipeCatalog
from line.recipes.route import Route, load_route


def bring_onto_sim(cfg: LineConfig, route: Route, lot_id: str, wafers: int) -> None:
    """On a simulated line, the wafers arrive with the product's incoming design (composition root)."""
    if cfg.simulation is None:
        return
    design = {n: r.model_dump() for n, r in route.spec.incoming.items()}
    try:
        control_for(cfg).request("start_wafers", wafers=[f"{lot_id}.{i:02d}" for i in range(1, wafers + 1)],
                                 design=design)
    except OSError:
        err.print("[yellow]note[/yellow] simulator control port not reachable: wafers start as generic incoming")


def start(route: str = typer.Option(..., "--route", "-r", help="Route YAML"),
          lot: str = typer.Option(..., "--lot", help="lot id"),
          wafers: int = typer.Option(25, "--wafers", "-n", min=1, max=25),
          hold_timeout: int = typer.Option(0, help="seconds a hold waits for an operator decision (0: end on hold)"),
          recipes: str = typer.Option("recipes", "--recipes"), line: str = LineOption) -> None:
    """Run one lot over its route; the tools must be up (`bumpline sim up`) or real."""
    from line.lot_flow import lot_flow

    cfg = or_exit(lambda: load_line(existing(line)))
    r = or_exit(lambda: load_route(existing(route), RecipeCatalog(recipes, cfg.tools)))
    bring_onto_sim(cfg, r, lot, wafers)
    out = lot_flow(lot, route, wafers, line, recipes, hold_timeout_s=hold_timeout)
    report(out)


def resume(recipes: str = typer.Option("recipes", "--recipes"), line: str = LineOption) -> None:
    """Carry on every lot left RUNNING by a dead orchestrator: finished steps are skipped, a step
    cut off half-way is reattached on its tool (or held if the tool lost it), nothing runs twice."""
    from line.lot_flow import lot_flow

    cfg = or_exit(lambda: load_line(existing(line)))
    catalog = RecipeCatalog(recipes, cfg.tools)
    routes = {}
    for path in sorted(Path(recipes).rglob("*.yaml")):
        try:
            r = load_route(path, catalog)
        except Exception:  # noqa: BLE001 - not a route, or not a valid one: nothing to resume with
            continue
        routes[r.ref] = str(path)
    ledger = Ledger()
    stranded = [l for l in ledger.lots() if l.status == "RUNNING"]
    ledger.dispose()
    if not stranded:
        console.print("no lot was left running")
        return
    for lot in stranded:
        if lot.route not in routes:
            err.print(f"[red]error[/red] {lot.id}: route {lot.route} not found under {recipes}")
            continue
        console.print(f"resuming {lot.id} ({lot.route})")
        report(lot_flow(lot.id, routes[lot.route], len(Ledger().wafers(lot.id)), line, recipes))


def report(out: dict) -> None:
    style = {"COMPLETE": "green"}.get(out["status"], "red")
    console.print(f"[{style}]{out['lot_id']} {out['status']}[/{style}] {escape(out.get('reason', ''))}",
                  highlight=False, soft_wrap=True)
    if out["status"] != "COMPLETE":
        raise typer.Exit(2)
