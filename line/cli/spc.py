"""`bumpline spc`: statistical process control from the ledger — freeze a Phase-I baseline for a
(step, measurement, tool), show its control chart as numbers, list and clear the tools SPC flagged."""
from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from line.cli.common import console, err

app = typer.Typer(no_args_is_help=True, help="SPC: baselines, control charts and the flags their signals raise.")
CHART_HELP = "imr (lot means), xbar_r or xbar_s (the lot's wafers as the subgroup)"


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command("baseline")
def freeze_baseline(step: str = typer.Argument(..., help="the route step id, e.g. C03"),
                    measurement: str = typer.Argument(..., help="the measurement, e.g. thickness.Cu"),
                    lots: int = typer.Option(..., "--lots", min=2, help="how many of the newest lots set the limits"),
                    by: str = typer.Option(..., "--by", help="the engineer who freezes it (goes to the ledger)"),
                    tool: str = typer.Option("", "--tool", help="one tool (default: every tool with enough lots)"),
                    chart: str = typer.Option("imr", "--chart", help=CHART_HELP),
                    exclude: list[str] = typer.Option([], "--exclude", help="a lot to leave out (repeatable)"),
                    keep_outliers: bool = typer.Option(False, "--keep-outliers",
                                                       help="freeze even with baseline lots outside their own 3σ"),
                    note: str = typer.Option("", "--note", help="why (goes to the ledger)")) -> None:
    """Freeze Phase-I control limits from the newest lots, per tool; a newer baseline retires the old.
    No SPC action happens at a step before its baseline exists."""
    from line.ledger import Ledger
    from line.spc.charts import CHARTS, BaselineError
    from line.spc.control import freeze, tools_at

    if chart not in CHARTS:
        _fail(f"--chart {chart!r}: one of {', '.join(CHARTS)}", 2)
    ledger = Ledger()
    try:
        tools = [tool] if tool else tools_at(ledger, step, measurement)
        if not tools:
            _fail(f"no {measurement} at step {step} in {ledger.url}")
        refused = 0
        for t in tools:
            try:
                row, own = freeze(ledger, step, measurement, t, chart, lots, by, note, exclude, keep_outliers)  # type: ignore[arg-type]
            except BaselineError as exc:
                err.print(f"[red]refused[/red] {t}: {escape(str(exc))}", highlight=False, soft_wrap=True)
                refused += 1
                continue
            console.print(f"baseline #{row.id} {step} {measurement} on {t}: {chart}, centre {row.center:.5g}, "
                          f"σ {row.sigma:.4g}, from {row.lots} lots ({row.first_lot} … {row.last_lot}), frozen by {by}",
                          highlight=False)
        if refused:
            raise typer.Exit(1)
    finally:
        ledger.dispose()


@app.command("show")
def show(step: str = typer.Argument(..., help="the route step id"),
         measurement: str = typer.Argument(..., help="the measurement"),
         tool: str = typer.Option("", "--tool", help="one tool (default: every tool with values at the step)"),
         lots: int = typer.Option(25, "--lots", min=1, max=500, help="how many of the newest lots after the baseline"),
         as_json: bool = typer.Option(False, "--json", help="print JSON (for scripts) instead of tables")) -> None:
    """The control chart as numbers: the baseline, each lot since it against its limits, the rules it
    broke; and the tool's open SPC flags at the step."""
    from line.ledger import Ledger
    from line.spc.control import tools_at
    from line.spc.view import chart_data

    ledger = Ledger()
    try:
        tools = [tool] if tool else tools_at(ledger, step, measurement)
        if not tools:
            _fail(f"no {measurement} at step {step} in {ledger.url}")
        charts = [chart_data(ledger, step, measurement, t, lots) for t in tools]
        flags = ledger.open_spc_flags(step, tools)
        if as_json:
            print(json.dumps({"charts": charts, "open_flags": [
                {"tool": f.tool_id, "lot": f.lot_id, "signal": f.signal, "raised": f.raised_at.isoformat()} for f in flags]},
                indent=2))
            return
        for c in charts:
            b = c["baseline"]
            if b is None:
                console.print(f"{step} {measurement} on {c['tool']}: [yellow]no baseline[/yellow] — no SPC action until "
                              f"one is frozen (bumpline spc baseline {step} {measurement} --tool {c['tool']} --lots N --by NAME)",
                              highlight=False)
                continue
            title = (f"{step} {measurement} on {c['tool']}: {b['chart']} baseline #{b['id']}, centre "
                     f"{b['center']:.5g}, σ {b['sigma']:.4g} ({b['lots']} lots, frozen by {b['frozen_by']})")
            table = Table("lot", "mean", "z", "LCL", "UCL", "spread", "signals", title=title)
            for p in c["points"]:
                table.add_row(p["lot"], f"{p['value']:.5g}", f"{p['z']:+.2f}", f"{p['lcl']:.5g}", f"{p['ucl']:.5g}",
                              "" if p["spread"] is None else f"{p['spread']:.4g}",
                              "[red]" + escape("; ".join(p["signals"])) + "[/red]" if p["signals"] else "")
            console.print(table if c["points"] else title + ": no lots since the baseline", highlight=False)
        for f in flags:
            console.print(f"[red]flagged[/red] {f.tool_id} at {f.step_id} since {f.raised_at:%Y-%m-%d %H:%M:%S} "
                          f"(lot {f.lot_id}): {escape(f.signal)}", highlight=False)
    finally:
        ledger.dispose()


@app.command("flags")
def flags(as_json: bool = typer.Option(False, "--json", help="print JSON (for scripts) instead of a table")) -> None:
    """Open SPC flags: tools dispatch passes over at a step until an engineer clears them."""
    from line.ledger import Ledger

    ledger = Ledger()
    try:
        rows = ledger.open_spc_flags()
        if as_json:
            print(json.dumps([{"tool": f.tool_id, "step": f.step_id, "measurement": f.measurement, "lot": f.lot_id,
                               "signal": f.signal, "raised": f.raised_at.isoformat()} for f in rows], indent=2))
            return
        table = Table("tool", "step", "measurement", "lot", "raised", "signal")
        for f in rows:
            table.add_row(f.tool_id, f.step_id, f.measurement, f.lot_id, f"{f.raised_at:%Y-%m-%d %H:%M:%S}", escape(f.signal))
        console.print(table if rows else "no open SPC flags")
    finally:
        ledger.dispose()


@app.command("clear")
def clear(tool: str = typer.Argument(..., help="the flagged tool"),
          by: str = typer.Option(..., "--by", help="the engineer who clears it (goes to the ledger)"),
          step: str = typer.Option("", "--step", help="only its flags at this step (default: all of them)"),
          note: str = typer.Option("", "--note", help="what was found and done")) -> None:
    """Clear a tool's open SPC flags: recorded with who, when and the note; dispatch uses it again."""
    from line.ledger import Ledger

    if not by.strip():
        _fail("--by must name the engineer who clears the flag", 2)
    ledger = Ledger()
    try:
        n = ledger.clear_spc_flags(tool, step or None, by, note)
        if not n:
            _fail(f"{tool} has no open SPC flag{' at ' + step if step else ''} in {ledger.url}")
        console.print(f"cleared {n} SPC flag{'s' if n > 1 else ''} of {tool}{' at ' + step if step else ''} by {by}",
                      highlight=False)
    finally:
        ledger.dispose()
