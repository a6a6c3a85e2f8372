"""Rich renderings of lots and steps, read from the ledger only."""
from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from line.cli.common import console
from line.cli.products import LotVerification
from line.ledger import Ledger
from line.steps import StepOutcome


def wafer_table(ledger: Ledger, step_run_id: int, title: str) -> Table:
    results = {r.wafer_id: r.status for r in ledger.results(step_run_id)}
    per_wafer: dict[str, dict[str, tuple[float, str, float | None]]] = {}
    names: list[str] = []
    for ms in ledger.measurements(step_run_id):
        per_wafer.setdefault(ms.wafer_id, {})[ms.name] = (ms.value, ms.unit, ms.target)
        if ms.name not in names:
            names.append(ms.name)
    table = Table(title=title, title_justify="left")
    table.add_column("wafer", no_wrap=True)
    table.add_column("status", no_wrap=True)
    units = {n: u for w in per_wafer.values() for n, (_, u, _) in w.items()}
    for n in names:
        unit = units.get(n, "")
        label = n.removeprefix("thickness.")
        table.add_column(f"{label} {unit}" if unit not in ("", "count") else label, justify="right", no_wrap=True)
    for wafer, status in results.items():
        style = "" if status == "PROCESSED" else ("red" if status == "INCOMPLETE" else "yellow")
        cells = []
        for n in names:
            if n not in per_wafer.get(wafer, {}):
                cells.append("")
                continue
            value, unit, target = per_wafer[wafer][n]
            text = f"{value:.1f}" if unit != "count" else f"{value:g}"
            if target:
                text += f" {(value - target) / target * 100:+.1f}%"
            cells.append(text)
        short = wafer.rsplit(".", 1)[-1]
        table.add_row(short, f"[{style}]{status}[/{style}]" if style else status, *cells)
    return table


def show_outcome(ledger: Ledger, outcome: StepOutcome) -> None:
    console.print(wafer_table(ledger, outcome.step_run_id,
                              f"{outcome.lot_id} {outcome.step_id} on {outcome.tool_id} — {outcome.recipe} "
                              f"(sha256 {outcome.recipe_hash[:12]})"))
    style = "green" if outcome.status == "COMPLETE" else "bold red"
    console.print(f"[{style}]{escape(outcome.headline)}[/{style}]", soft_wrap=True, highlight=False)


MARK = {"held": "[green]✓ held[/green]", "broken": "[red]✗ broken[/red]", "not-modelled": "[yellow]· not-modelled[/yellow]"}


def verification_table(check: LotVerification) -> Table:
    """Element → held / broken / not-modelled, with the evidence, over every processed wafer."""
    verdict = "[green]all held[/green]" if check.ok else "[red]BROKEN[/red]"
    table = Table(title=f"lot {check.lot_id} — product {check.product} — {len(check.wafers)} wafer(s) checked: {verdict}"
                        + (f"; not processed: {', '.join(check.not_processed)}" if check.not_processed else ""),
                  title_justify="left")
    for col in ("element", "result", "evidence"):
        table.add_column(col, overflow="fold")
    for r in check.rows:
        evidence = escape(r.evidence) + (f" [red](wafers {', '.join(r.wafers_broken)})[/red]" if r.wafers_broken else "")
        table.add_row(r.element, MARK[r.status], evidence)
    return table
