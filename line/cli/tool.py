"""`bumpline tool`: maintenance as an operator or technician records it — a consumable restarted on
the tool (told over its protocol), a tool taken down (scheduled, unscheduled, engineering) and
brought up; every action with who, when and why in the ledger."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from line.cli.common import LineOption, console, err, existing, or_exit

if TYPE_CHECKING:
    from line.config import ToolConfig

app = typer.Typer(no_args_is_help=True, help="Maintenance: consumables restarted, tools taken down and brought up.")
WaitOption = typer.Option(0.0, "--wait", min=0, help="seconds to wait for a running job to finish (default: refuse)")


def _tool(line_path: str, tool_id: str) -> ToolConfig:
    from drivers.errors import UnknownName
    from line.config import load_line

    line = or_exit(lambda: load_line(existing(line_path)))
    try:
        return line.tool(tool_id)
    except UnknownName as exc:
        err.print(f"[red]error[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _refused(exc: Exception) -> None:
    err.print(f"[red]refused[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@app.command("maintain")
def maintain(tool: str = typer.Argument(..., help="the tool, e.g. EP01"),
             action: str = typer.Argument(..., help="bath-replenish, anode-change (plater); target-change "
                                                    "(sputter, with the material); stencil-wipe (stencil printer)"),
             item: str = typer.Argument("", help="what it was done to, where the action needs it (e.g. Cu)"),
             by: str = typer.Option(..., "--by", help="who did it (goes to the ledger)"),
             note: str = typer.Option("", "--note", help="what was done"),
             wait: float = WaitOption, line: str = LineOption) -> None:
    """Record a maintenance action and tell the tool, so its consumable counter restarts."""
    from line.ledger import Ledger
    from line.maintenance import MaintenanceRefused, perform

    cfg = _tool(line, tool)
    ledger = Ledger()
    try:
        row = perform(ledger, cfg, action, by, note, item, wait_s=wait)
    except MaintenanceRefused as exc:
        _refused(exc)
    else:
        console.print(f"{tool}: {action}{' ' + row.item if row.item else ''} by {row.by}, told to the tool and recorded",
                      highlight=False)
    finally:
        ledger.dispose()


@app.command("down")
def down(tool: str = typer.Argument(..., help="the tool to take down"),
         kind: str = typer.Option(..., "--kind", help="scheduled, unscheduled or engineering (its E10 state)"),
         by: str = typer.Option(..., "--by", help="who takes it down (goes to the ledger)"),
         note: str = typer.Option("", "--note", help="why"),
         wait: float = WaitOption, line: str = LineOption) -> None:
    """Take a tool down: no lot is dispatched to it until `bumpline tool up`; E10 counts the time in the
    down's state."""
    from line.ledger import Ledger
    from line.maintenance import MaintenanceRefused, down_text, take_down

    _tool(line, tool)
    ledger = Ledger()
    try:
        row = take_down(ledger, tool, kind, by, note, wait_s=wait)
    except MaintenanceRefused as exc:
        _refused(exc)
    else:
        console.print(f"{tool} {down_text(row)}; lots go to other tools (or wait) until it is up", highlight=False)
    finally:
        ledger.dispose()


@app.command("up")
def up(tool: str = typer.Argument(..., help="the tool to bring up"),
       by: str = typer.Option(..., "--by", help="who brings it up (goes to the ledger)"),
       note: str = typer.Option("", "--note", help="what was done"), line: str = LineOption) -> None:
    """End a tool's down: dispatch uses it again."""
    from line.ledger import Ledger
    from line.maintenance import MaintenanceRefused, bring_up

    _tool(line, tool)
    ledger = Ledger()
    try:
        row = bring_up(ledger, tool, by, note)
    except MaintenanceRefused as exc:
        _refused(exc)
    else:
        console.print(f"{tool} up by {by}; it was down since {row.started_at:%Y-%m-%d %H:%M:%S}", highlight=False)
    finally:
        ledger.dispose()


@app.command("history")
def history_cmd(tool: str = typer.Argument("", help="one tool (default: every tool)"),
                limit: int = typer.Option(50, "--limit", min=1, max=10000, help="how many of the newest actions"),
                as_json: bool = typer.Option(False, "--json", help="print JSON (for scripts) instead of a table")) -> None:
    """The maintenance record, newest first: actions and downs with who, when and the note."""
    from line.ledger import Ledger
    from line.maintenance import history

    ledger = Ledger()
    try:
        rows = history(ledger, tool or None, limit)
        if as_json:
            print(json.dumps([{"tool": r.tool_id, "action": r.action, "item": r.item, "e10": r.e10, "by": r.by,
                               "note": r.note, "started": r.started_at.isoformat(),
                               "ended": r.ended_at.isoformat() if r.ended_at else None, "ended_by": r.ended_by}
                              for r in rows], indent=2))
            return
        table = Table("tool", "action", "by", "at", "until", "note")
        for r in rows:
            what = f"down ({r.e10})" if r.action == "down" else f"{r.action} {r.item}".strip()
            until = "" if r.action != "down" else (f"{r.ended_at:%Y-%m-%d %H:%M} by {r.ended_by}" if r.ended_at
                                                   else "[red]still down[/red]")
            table.add_row(r.tool_id, what, r.by, f"{r.started_at:%Y-%m-%d %H:%M:%S}", until, escape(r.note))
        console.print(table if rows else "no maintenance recorded")
    finally:
        ledger.dispose()
