"""`bumpline alarms`: the tools' alarms — which are open (not yet reported cleared by their tool),
acknowledging them (who, when, why; the tool stays down until it reports the alarm cleared), and
routing them out of the line: a Prefect automation that posts every `bumpline.tool.alarm.*` event to a
webhook (the fab's alarm system, a pager, a chat channel)."""
from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from line.cli.common import console, err


def api_url() -> str:
    """The Prefect API these commands talk to (PREFECT_API_URL), named in their errors."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or "the ephemeral Prefect server (PREFECT_API_URL unset)"


app = typer.Typer(no_args_is_help=True, help="Tool alarms: open ones, acknowledging them, and a webhook for every alarm.")


@app.command("list")
def list_alarms(every: bool = typer.Option(False, "--all", help="cleared alarms too, not only open ones"),
                as_json: bool = typer.Option(False, "--json", help="print JSON (for scripts) instead of a table")) -> None:
    """Open alarms (the tool has not reported them cleared), with who acknowledged them."""
    from line.cli.lot_data import alarm_record
    from line.ledger import Ledger

    ledger = Ledger()
    try:
        rows = ledger.alarms() if every else ledger.open_alarms()
        if as_json:
            print(json.dumps([alarm_record(a) for a in rows], indent=2))
            return
        table = Table("tool", "ALID", "name", "wafer", "raised", "state", "acknowledged", "note")
        for a in rows:
            table.add_row(a.tool_id, str(a.alid), a.name, a.wafer_id, f"{a.raised_at:%Y-%m-%d %H:%M:%S}",
                          "cleared" if a.cleared_at else "[red]open[/red]",
                          f"{a.acknowledged_by} {a.acknowledged_at:%H:%M:%S}" if a.acknowledged_at else "",
                          escape(a.ack_note))
        console.print(table if rows else ("no alarms" if every else "no open alarms"))
    finally:
        ledger.dispose()


@app.command("ack")
def ack(tool: str = typer.Argument(..., help="the tool whose open alarms are acknowledged"),
        operator: str = typer.Option(..., "--operator", "-o", help="who acknowledges (goes to the ledger)"),
        alid: int = typer.Option(None, "--alid", help="only the open alarm with this ALID (default: all of the tool's)"),
        note: str = typer.Option("", "--note", help="what is being done about it")) -> None:
    """Acknowledge a tool's open alarms: recorded with who, when and the note. The tool stays down
    (dispatch leaves it last, E10 counts unscheduled downtime) until the tool reports the alarm cleared."""
    from line.alarms import NoOpenAlarm, acknowledge

    if not operator.strip():
        err.print("[red]error[/red] --operator must name who acknowledges")
        raise typer.Exit(2)
    try:
        done = acknowledge(tool, operator, alid, note)
    except NoOpenAlarm as none:
        err.print(f"[red]error[/red] {escape(str(none))}", highlight=False)
        raise typer.Exit(1) from None
    for a in done:
        console.print(f"acknowledged {tool} {a.alid} {a.name} by {operator}; it stays open until {tool} reports it "
                      "cleared", highlight=False)


@app.command("webhook")
def webhook(url: str = typer.Argument(..., help="URL that gets each alarm as a JSON POST")) -> None:
    """Install (or replace) the automation posting every tool alarm to URL. Uses PREFECT_API_URL."""
    from line.automations import ALARM_AUTOMATION, install_alarm_webhook

    try:
        automation_id = install_alarm_webhook(url)
    except Exception as exc:
        err.print(f"[red]error[/red] could not install the alarm automation at {api_url()}: {exc}", soft_wrap=True)
        raise typer.Exit(1) from exc
    console.print(f"automation [bold]{ALARM_AUTOMATION}[/bold] ({automation_id}): every tool alarm → {url}",
                  highlight=False)


@app.command("off")
def off() -> None:
    """Remove the alarm automation (alarms stay in the ledger and the event feed)."""
    from line.automations import remove_alarm_webhook

    try:
        removed = remove_alarm_webhook()
    except Exception as exc:
        err.print(f"[red]error[/red] could not remove the alarm automation at {api_url()}: {exc}", soft_wrap=True)
        raise typer.Exit(1) from exc
    console.print("removed" if removed else "there was no alarm automation")
