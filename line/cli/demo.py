"""`bumpline demo`: lots of products A, B, C and D concurrently on the simulated line, each its own
Prefect flow run, with live progress from the ledger and a check of every product's final stack
in the world model against its route and its claim elements."""
from __future__ import annotations

import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import typer
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from line.cli.common import LineOption, console, existing, or_exit, warm_up
from line.cli.products import check_product
from line.cli.sim import sim_line
from line.config import load_line, rebind_ports, save_line
from line.ledger import Ledger
from line.recipes.catalog import RecipeCatalog
from line.recipes.route import load_route

PRODUCT_ROUTES = ("recipes/routes/product-a-spacing-pad-bump.yaml", "recipes/routes/product-b-rdl-recess.yaml",
                  "recipes/routes/product-c-paste-core-bump.yaml", "recipes/routes/product-d-suspended-bump-release.yaml")


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
        table.add_row(lot_id, route.spec.product + (f"-{route.spec.variant}" if route.spec.variant else ""),
                      f"[{style}]{status}[/{style}]" if style else status, f"{done}/{len(route.steps)}",
                      f"{current.step_id} {current.operation} {current.status}" if current else "",
                      current.tool_id if current else "")
    return table


def products(wafers: int = typer.Option(5, "--wafers", "-n", min=1, max=25, help="wafers per lot"),
             speed: float = typer.Option(3000.0, help="simulated seconds per wall second"),
             line: str = LineOption) -> None:
    """Run one lot of each product A–D at once on the simulated line and verify what they built."""
    from line.lot_flow import lot_flow

    cfg = or_exit(lambda: load_line(existing(line)))
    catalog = RecipeCatalog("recipes", cfg.tools)
    routes = [or_exit(partial(load_route, existing(p), catalog)) for p in PRODUCT_ROUTES]
    simline = sim_line(cfg, any_port=True, speed=speed).start_in_thread()
    for h in logging.getLogger("prefect").handlers:
        h.setLevel(logging.WARNING)
    stamp = f"{datetime.now():%m%d-%H%M%S}"
    lots = {f"{r.spec.product}-{stamp}": r for r in routes}
    for lot_id, route in lots.items():        # wafers arrive on the line with their product's design
        design = {n: reg.model_dump() for n, reg in route.spec.incoming.items()}
        for slot in range(1, wafers + 1):
            simline.world.start_wafer(f"{lot_id}.{slot:02d}", design)
    console.print(f"simulated line {cfg.metadata.name}: {len(simline.tools)} tools, clock ×{speed:g}; "
                  f"{len(lots)} lots of {wafers} wafers")
    warm_up()
    ledger = Ledger()
    started = time.monotonic()
    results: dict[str, Any] = {}
    bound = save_line(rebind_ports(cfg, simline.ports(), simline.endpoint_ports()),
                      Path(tempfile.mkdtemp(prefix="bumpline-products-")) / "line.yaml")
    try:
        with ThreadPoolExecutor(max_workers=len(lots), thread_name_prefix="lot") as pool:
            futures = {lot_id: pool.submit(lot_flow, lot_id, str(route.path), wafers, bound, "recipes")
                       for lot_id, route in lots.items()}
            with Live(progress_table(ledger, lots, started), console=console, refresh_per_second=2) as live:
                while not all(f.done() for f in futures.values()):
                    time.sleep(0.5)
                    live.update(progress_table(ledger, lots, started))
                live.update(progress_table(ledger, lots, started))
            for lot_id, f in futures.items():
                try:
                    results[lot_id] = f.result()
                except Exception as exc:  # noqa: BLE001 - one lot's failure is reported, the others still are
                    results[lot_id] = {"lot_id": lot_id, "status": "FAILED", "reason": f"{type(exc).__name__}: {exc}"}
        wall = time.monotonic() - started
        world = simline.world.snapshot()
        summary(ledger, lots, results, world, wall, simline.clock.now(), speed)
    finally:
        simline.stop_thread()
        ledger.dispose()
    bad = [r for r in results.values() if r["status"] != "COMPLETE"]
    raise typer.Exit(0 if not bad and all(check_product(world, route, Ledger(), lot_id).ok
                                          for lot_id, route in lots.items()) else 2)


def summary(ledger: Ledger, lots: dict[str, Any], results: dict[str, Any], world: dict[str, Any], wall: float,
            sim_s: float, speed: float) -> None:
    console.print()
    table = Table(title="lots", title_justify="left")
    for col in ("lot", "product", "steps", "cycle time", "yield", "product check"):
        table.add_column(col, no_wrap=True)
    checks = {}
    for lot_id, route in lots.items():
        runs = ledger.step_runs(lot_id)
        start = min((r.started_at for r in runs if r.started_at), default=None)
        end = max((r.ended_at for r in runs if r.ended_at), default=None)
        wafers = ledger.wafers(lot_id)
        good = sum(1 for w in wafers if w.state == "PROCESSED")
        check = checks[lot_id] = check_product(world, route, ledger, lot_id)
        wall_s = (end - start).total_seconds() if start and end else 0.0
        cycle = f"{wall_s * speed / 3600:.1f} h simulated ({wall_s:.0f} s wall)" if wall_s else "—"
        table.add_row(lot_id, check.product, f"{sum(r.status == 'COMPLETE' for r in runs)}/{len(route.steps)}", cycle,
                      f"{good}/{len(wafers)}", "[green]claims verified[/green]" if check.ok and results[lot_id]["status"] == "COMPLETE"
                      else "[red]FAILED[/red]")
    console.print(table)
    for lot_id, check in checks.items():
        route = lots[lot_id]
        status = results[lot_id]["status"]
        console.print(f"[bold]{lot_id}[/bold] product {check.product}: {status}"
                      + (f" — {escape(results[lot_id].get('reason', ''))}" if status != "COMPLETE" else ""))
        for element, text in route.spec.claims.items():
            found = check.claims.get(element)
            mark = "[green]✓[/green]" if found and check.ok else "[red]✗[/red]"
            console.print(f"  {mark} {element}: {text}  [dim]({escape(found or 'not built')})[/dim]", highlight=False)
        for p in check.problems[:3]:
            console.print(f"  [red]{escape(p)}[/red]")
    console.print(f"wall time {wall:.0f} s for {sim_s / 3600:.1f} simulated hours; ledger {ledger.url}")
