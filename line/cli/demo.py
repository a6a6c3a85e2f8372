"""`bumpline demo`: one lot of every shipped product route (A, B, C, D release, D retain) concurrently
on the simulated line, each its own Prefect flow run, with live progress from the ledger; then every
lot's finished wafers in the world model are verified against its *product* (`lot verify`): each
claim element held, broken or not-modelled. Any broken element fails the demo."""
from __future__ import annotations

import time
from datetime import datetime
from functools import partial
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from line.cli import exits
from line.cli.common import LineOption, console, existing, or_exit
from line.cli.products import LotVerification, verify_lot
from line.cli.render import MARK, verification_table
from line.cli.simrun import run_lots
from line.config import load_line
from line.ledger import Ledger
from line.recipes.catalog import RecipeCatalog
from line.recipes.route import load_route

PRODUCT_ROUTES = ("recipes/routes/product-a-spacing-pad-bump.yaml", "recipes/routes/product-b-rdl-recess.yaml",
                  "recipes/routes/product-c-paste-core-bump.yaml", "recipes/routes/product-d-suspended-bump-release.yaml",
                  "recipes/routes/product-d-suspended-bump-retain.yaml")


def progress_table(ledger: Ledger, lots: dict[str, Any], started: float) -> Table:
    table = Table(title=f"lots in flight — {time.monotonic() - started:.0f} s", title_justify="left")
    for col in ("lot", "product", "status", "steps done", "current step", "tool"):
        table.add_column(col, no_wrap=True)
    for lot_id, route in lots.items():
        lot = ledger.lot(lot_id)
        runs = ledger.step_runs(lot_id) if lot else []
        done = sum(1 for r in runs if r.status == "COMPLETE")
        current = runs[-1] if runs else None
        status = lot.status if lot else "STARTING"
        style = {"COMPLETE": "green", "ON_HOLD": "red"}.get(status, "")
        table.add_row(lot_id, route.label,
                      f"[{style}]{status}[/{style}]" if style else status, f"{done}/{len(route.steps)}",
                      f"{current.step_id} {current.operation} {current.status}" if current else "",
                      current.tool_id if current else "")
    return table


def products(wafers: int = typer.Option(5, "--wafers", "-n", min=1, max=25, help="wafers per lot"),
             speed: float = typer.Option(3000.0, help="simulated seconds per wall second"),
             line: str = LineOption) -> None:
    """Run one lot of each product route (A, B, C, D release, D retain) at once on the simulated line
    and verify what they built against their products."""
    cfg = or_exit(lambda: load_line(existing(line)))
    catalog = RecipeCatalog("recipes", cfg.tools)
    routes = [or_exit(partial(load_route, existing(p), catalog)) for p in PRODUCT_ROUTES]
    stamp = f"{datetime.now():%m%d-%H%M%S}"
    lots = {f"{r.label}-{stamp}": r for r in routes}
    ledger = Ledger()
    try:
        run = run_lots(cfg, lots, wafers, speed, progress=lambda started: progress_table(ledger, lots, started))
        checks = summary(ledger, lots, run.results, run.world, run.wall_s, run.sim_s, speed)
    finally:
        ledger.dispose()
    results = run.results
    bad = [r for r in results.values() if r["status"] != "COMPLETE"]
    raise typer.Exit(exits.COMPLETE if not bad and all(c.ok for c in checks.values()) else exits.NOT_COMPLETE)


def summary(ledger: Ledger, lots: dict[str, Any], results: dict[str, Any], world: dict[str, Any], wall: float,
            sim_s: float, speed: float) -> dict[str, LotVerification]:
    console.print()
    table = Table(title="lots", title_justify="left")
    for col in ("lot", "product", "steps", "cycle time", "yield", "lot verify"):
        table.add_column(col, no_wrap=True)
    checks: dict[str, LotVerification] = {}
    for lot_id, route in lots.items():
        runs = ledger.step_runs(lot_id)
        start = min((r.started_at for r in runs if r.started_at), default=None)
        end = max((r.ended_at for r in runs if r.ended_at), default=None)
        wafers = ledger.wafers(lot_id)
        good = sum(1 for w in wafers if w.state == "PROCESSED")
        check = checks[lot_id] = verify_lot(world, route.product, ledger, lot_id)
        wall_s = (end - start).total_seconds() if start and end else 0.0
        cycle = f"{wall_s * speed / 3600:.1f} h simulated ({wall_s:.0f} s wall)" if wall_s else "—"
        modelled = [r for r in check.rows if r.rule == "claim"]
        held = sum(r.status == "held" for r in modelled)
        table.add_row(lot_id, check.product, f"{sum(r.status == 'COMPLETE' for r in runs)}/{len(route.steps)}", cycle,
                      f"{good}/{len(wafers)}",
                      f"[green]{held} held, {len(modelled) - held} not-modelled[/green]" if check.ok and results[lot_id]["status"] == "COMPLETE"
                      else "[red]FAILED[/red]")
    console.print(table)
    for lot_id, check in checks.items():
        status = results[lot_id]["status"]
        console.print(f"[bold]{lot_id}[/bold] product {check.product}: {status}"
                      + (f" — {escape(results[lot_id].get('reason', ''))}" if status != "COMPLETE" else ""))
        claims = {c.id: c.text for c in lots[lot_id].product.spec.claims}
        for r in check.rows:
            if r.rule == "claim":
                console.print(f"  {MARK[r.status]} {r.element}: {escape(claims[r.element])}  [dim]({escape(r.evidence)})[/dim]",
                              highlight=False)
        if not check.ok:
            console.print(verification_table(check))
    console.print(f"wall time {wall:.0f} s for {sim_s / 3600:.1f} simulated hours; ledger {ledger.url}")
    console.print("the same lots, step by step: `.venv/bin/bumpline lot show <lot>` (values against their limits), "
                  "`.venv/bin/bumpline status`; the live views — each lot's run, its holds and Resume form, the "
                  "line's tools, alarms and WIP — in the Prefect UI: `.venv/bin/bumpline serve`", highlight=False)
    return checks
