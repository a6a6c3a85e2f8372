"""`bumpline lot …`: what the ledger knows about lots."""
from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from line.cli import exits
from line.cli.common import LineOption, console, err, or_exit
from line.cli.lot_data import lot_detail, lot_summary, write_csv
from line.cli.render import verification_table, wafer_table
from line.config import load_line
from line.hold_view import decision_text
from line.ledger import Ledger

app = typer.Typer(no_args_is_help=True, help="Lots in the ledger.")


JsonOption = typer.Option(False, "--json", help="print JSON (for scripts) instead of a table")


@app.command("list")
def list_lots(as_json: bool = JsonOption) -> None:
    """Every lot with its status."""
    ledger = Ledger()
    if as_json:
        print(json.dumps([lot_summary(lot) for lot in ledger.lots()], indent=2))
        return
    table = Table("lot", "status", "route", "created", "hold reason")
    for lot in ledger.lots():
        table.add_row(lot.id, lot.status, lot.route, f"{lot.created_at:%Y-%m-%d %H:%M:%S}", lot.hold_reason[:80])
    console.print(table)


@app.command()
def show(lot_id: str = typer.Argument(..., help="the lot id"), as_json: bool = JsonOption,
         csv_out: str = typer.Option("", "--csv", help="write every measurement of the lot to this CSV file "
                                                         "('-': standard output)"),
         sites: bool = typer.Option(False, "--sites", help="with --csv: every wafer-map site (position in mm "
                                                           "from the wafer's centre, value) instead")) -> None:
    """Steps, per-wafer results against their limits, alarms and holds (with the decision, who made
    it and the note) of one lot."""
    ledger = Ledger()
    lot = ledger.lot(lot_id)
    if lot is None:
        err.print(f"[red]error[/red] no lot {lot_id} in {ledger.url}")
        raise typer.Exit(1)
    if csv_out:
        write_csv(ledger, lot_id, csv_out, sites)
        return
    if as_json:
        print(json.dumps(lot_detail(ledger, lot), indent=2, default=str))
        return
    console.print(f"[bold]{lot.id}[/bold] {lot.status} {lot.hold_reason}")
    for run in ledger.step_runs(lot_id):
        console.print(wafer_table(ledger, run.id, f"{run.step_id} {run.status} on {run.tool_id}: "
                                                  f"{run.recipe_name}@v{run.recipe_version} job {run.job_id}"))
    for a in ledger.alarms(lot_id):
        console.print(f"[red]alarm[/red] {a.tool_id} {a.alid} {a.name} {a.wafer_id}: {escape(a.text)}")
    for h in ledger.holds(lot_id):
        console.print(f"[yellow]hold[/yellow] {h.reason_type}: {escape(h.reason)} → {escape(decision_text(h))}",
                      highlight=False)


@app.command()
def verify(lot_id: str = typer.Argument(..., help="the finished lot to check"), line: str = LineOption,
           recipes: str = typer.Option("recipes", "--recipes", help="folder holding the routes and products"),
           as_json: bool = typer.Option(False, "--json", help="the verification as JSON")) -> None:
    """Check a finished lot's wafers on the simulated line against its product: every claim
    predicate, region structure and absence, per wafer. Exit 0 all held, 2 something broke, 1 error."""
    from line.cli.products import verify_lot
    from line.cli.sim import control_for
    from line.recipes.catalog import RecipeCatalog
    from line.recipes.route import find_route
    from sim_hw.control_client import SimControlError

    ledger = Ledger()
    lot = ledger.lot(lot_id)
    if lot is None:
        err.print(f"[red]error[/red] no lot {lot_id} in {ledger.url}")
        raise typer.Exit(1)
    catalog = RecipeCatalog(recipes)
    route = or_exit(lambda: find_route(lot.route, catalog))
    if route.product is None:
        err.print(f"[red]error[/red] lot {lot_id} ran {lot.route}, an engineering route: it names no product to verify against")
        raise typer.Exit(1)
    cfg = or_exit(lambda: load_line(line))
    try:
        world = control_for(cfg).world()
    except (SimControlError, OSError) as exc:
        err.print(f"[red]error[/red] cannot read the simulated line's world model: {escape(str(exc))} "
                  "(is `bumpline serve` running for this line config?)")
        raise typer.Exit(1) from None
    check = verify_lot(world, route.product, ledger, lot_id)
    if as_json:
        print(json.dumps(check.as_json(), indent=2))
    else:
        console.print(verification_table(check))
    raise typer.Exit(exits.COMPLETE if check.ok else exits.NOT_COMPLETE)
