"""`bumpline status`: the line at a glance — every tool's state, E10 state, lease holder and last
alarm, the work in progress, and each tool's E10 time in state over a window — from the ledger (the
same rows as the line's Prefect artifact)."""
from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.table import Table

from line.cli.common import LineOption, console, existing, or_exit
from line.config import load_line
from line.dashboard import e10_cells, e10_window, observed_text, tool_rows, window_shares, wip_rows
from line.ledger import Ledger
from line.utilization import E10_STATES, SHORT


def status(line: str = LineOption,
           hours: float = typer.Option(24.0, help="window of the E10 time-in-state table, in hours"),
           as_json: bool = typer.Option(False, "--json", help="print JSON (for scripts) instead of tables")) -> None:
    """Tool states, WIP and each tool's E10 time in state, as the ledger records them."""
    cfg = or_exit(lambda: load_line(existing(line)))
    ledger = Ledger()
    try:
        if as_json:
            print(json.dumps({
                "line": cfg.metadata.name, "tools": [asdict(t) for t in tool_rows(ledger, cfg)],
                "wip": [asdict(w) for w in wip_rows(ledger)],
                "e10": {"window_h": hours, "tools": [
                    {"tool": r.tool_id, "observed_s": round(r.observed_s, 1), "unobserved_s": round(r.unobserved_s, 1),
                     **{s.lower(): round(p, 3) for s, p in zip(E10_STATES, window_shares(r), strict=True)},
                     "uptime_pct": round(r.uptime_pct, 3), "utilization_pct": round(r.utilization_pct, 3)}
                    for r in e10_window(ledger, cfg, hours)]}}, indent=2))
            return
        tools = Table("tool", "kind", "state", "E10", "held by", "last alarm", "since",
                      title=f"line {cfg.metadata.name}", title_justify="left")
        for t in tool_rows(ledger, cfg):
            style = {"PRODUCTIVE": "green", "UNSCHEDULED_DOWNTIME": "red"}.get(t.e10, "")
            tools.add_row(t.tool_id, t.kind, t.state, f"[{style}]{t.e10}[/{style}]" if style else t.e10,
                          t.holder, t.last_alarm, t.since)
        console.print(tools)
        in_progress = wip_rows(ledger)
        wip = Table("lot", "product", "status", "last step", "tool", "wafers", "reason",
                    title="work in progress", title_justify="left")
        for w in in_progress:
            wip.add_row(w.lot_id, w.product, w.status, w.step, w.tool_id, w.wafers, w.reason)
        console.print(wip if in_progress else
                      "[bold]work in progress[/bold]: none (every lot the ledger knows has ended)")
        e10 = Table("tool", "observed", *(SHORT[st] for st in E10_STATES), "uptime", "utilization",
                    title=f"E10 over the last {hours:g} h (% of the time the ledger observed; uptime and utilization "
                          "of operations time)", title_justify="left")
        for r in e10_window(ledger, cfg, hours):
            e10.add_row(r.tool_id, observed_text(r), *e10_cells(r))
        console.print(e10)
    finally:
        ledger.dispose()
