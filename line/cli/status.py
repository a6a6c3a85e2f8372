"""`bumpline status`: the line at a glance — every tool's state, E10 state, lease holder and last
alarm, and the work in progress — from the ledger (the same rows as the line's Prefect artifact)."""
from __future__ import annotations

from rich.table import Table

from line.cli.common import LineOption, console, existing, or_exit
from line.config import load_line
from line.dashboard import tool_rows, wip_rows
from line.ledger import Ledger


def status(line: str = LineOption) -> None:
    """Tool states and WIP of the line, as the ledger records them."""
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
    finally:
        ledger.dispose()
