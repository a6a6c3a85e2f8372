"""`bumpline lot …`: what the ledger knows about lots."""
from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from line.cli.common import console, err
from line.cli.render import wafer_table
from line.ledger import Ledger

app = typer.Typer(no_args_is_help=True, help="Lots in the ledger.")


@app.command("list")
def list_lots() -> None:
    """Every lot with its status."""
    ledger = Ledger()
    table = Table("lot", "status", "route", "created", "hold reason")
    for lot in ledger.lots():
        table.add_row(lot.id, lot.status, lot.route, f"{lot.created_at:%Y-%m-%d %H:%M:%S}", lot.hold_reason[:80])
    console.print(table)


@app.command()
def show(lot_id: str) -> None:
    """Steps, per-wafer results, alarms and holds of one lot."""
    ledger = Ledger()
    lot = ledger.lot(lot_id)
    if lot is None:
        err.print(f"[red]error[/red] no lot {lot_id} in {ledger.url}")
        raise typer.Exit(1)
    console.print(f"[bold]{lot.id}[/bold] {lot.status} {lot.hold_reason}")
    for run in ledger.step_runs(lot_id):
        console.print(wafer_table(ledger, run.id, f"{run.step_id} {run.status} on {run.tool_id}: "
                                                  f"{run.recipe_name}@v{run.recipe_version} job {run.job_id}"))
    for a in ledger.alarms(lot_id):
        console.print(f"[red]alarm[/red] {a.tool_id} {a.alid} {a.name} {a.wafer_id}: {escape(a.text)}")
    for h in ledger.holds(lot_id):
        console.print(f"[yellow]hold[/yellow] {h.reason_type}: {escape(h.reason)} {('→ ' + h.decision) if h.decision else '(open)'}")
