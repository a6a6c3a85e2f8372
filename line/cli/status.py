"""`bumpline status`: the line at a glance — every tool's state, E10 state, lease holder and last
alarm, the work in progress, and each tool's E10 time in state over a window — from the ledger (the
same rows as the line's Prefect artifact)."""
from __future__ import annotations

import typer
from rich.table import Table

from line.cli.common import LineOption, console, existing, or_exit
from line.config import load_line
from line.dashboard import e10_window, tool_rows, window_shares, wip_rows
from line.ledger import Ledger
from line.utilization import E10_STATES, SHORT


def status(line: str = LineOption,
           hours: float = typer.Option(24.0, help="window of the E10 time-in-state table, in hours")) -> None:
    """Tool states, WIP and each tool's E10 time in state, as the ledger records them."""
    cfg = or_exit(lambda: load_line(existing(line)))
    ledger = Ledger()
    try:
        tools = Table("tool", "kind", "state", "E10", "held by", "last alarm", "since",
                      title=f"line {cfg.metadata.name}", title_justify="left")
        for t in tool_rows(ledger, cfg):
            style = {"PRODUCTIVE": "green", "UNSCHEDULED_DOWNTIME": "red"}.get(t.e10, "")
            tools.add_row(t.tool_id, t.kind, t.state, f"[{style}]{t.e10}[/{style}]" if style else t.e10,
                          t.holder, t.last_alarm, t.since)
        console.print(tools)
        wip = Table("lot", "product", "status", "last step", "tool", "wafers", "reason",
                    title="work in progress", title_justify="left")
        for w in wip_rows(ledger):
            wip.add_row(w.lot_id, w.product, w.status, w.step, w.tool_id, w.wafers, w.reason)
        console.print(wip)
        e10 = Table("tool", *(SHORT[st] for st in E10_STATES), "uptime", "utilization",
                    title=f"E10 over the last {hours:g} h (% of the window; uptime and utilization of operations "
                          "time)", title_justify="left")
        for r in e10_window(ledger, cfg, hours):
            e10.add_row(r.tool_id, *(f"{p:.0f}" for p in window_shares(r)), f"{r.uptime_pct:.0f} %",
                        f"{r.utilization_pct:.0f} %")
        console.print(e10)
    finally:
        ledger.dispose()
