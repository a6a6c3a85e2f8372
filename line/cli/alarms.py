"""`bumpline alarms`: route tool alarms out of the line — a Prefect automation that posts every
`bumpline.tool.alarm` event to a webhook (the fab's alarm system, a pager, a chat channel)."""
from __future__ import annotations

import typer

from line.cli.common import console, err


def api_url() -> str:
    """The Prefect API these commands talk to (PREFECT_API_URL), named in their errors."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or "the ephemeral Prefect server (PREFECT_API_URL unset)"


app = typer.Typer(no_args_is_help=True, help="Where tool alarms go: a webhook called by a Prefect automation.")


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
