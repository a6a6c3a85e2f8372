"""Rich renderings of lots and steps, read from the ledger only."""
from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from line.cli.common import console
from line.cli.products import LotVerification
from line.ledger import Ledger
from line.ledger.models import Measurement
from line.spec_limits import Limits
from line.steps import StepOutcome


def wafer_table(ledger: Ledger, step_run_id: int, title: str) -> Table:
    """Per-wafer values of a step; a column's header carries its limits [LSL, USL] when every wafer
    was judged by the same ones, and a value outside them is marked ✗ (red)."""
    results = {r.wafer_id: r.status for r in ledger.results(step_run_id)}
    per_wafer: dict[str, dict[str, Measurement]] = {}
    names: list[str] = []
    for ms in ledger.measurements(step_run_id):
        per_wafer.setdefault(ms.wafer_id, {})[ms.name] = ms
        if ms.name not in names:
            names.append(ms.name)
    table = Table(title=title, title_justify="left")
    table.add_column("wafer", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for n in names:
        seen = [w[n] for w in per_wafer.values() if n in w]
        unit = seen[0].unit if seen else ""
        limits = {(ms.lsl, ms.usl) for ms in seen}
        label = n.removeprefix("thickness.") + (f" {unit}" if unit not in ("", "count") else "")
        if len(limits) == 1 and (lim := Limits(*limits.pop())) != Limits(None, None):
            label += f" {lim.text()}"
        table.add_column(label, justify="right", no_wrap=True)
    for wafer, status in results.items():
        style = "" if status == "PROCESSED" else ("red" if status == "INCOMPLETE" else "yellow")
        cells = []
        for n in names:
            got = per_wafer.get(wafer, {}).get(n)
            if got is None:
                cells.append("")
                continue
            text = f"{got.value:.1f}" if got.unit != "count" else f"{got.value:g}"
            if got.target:
                text += f" {(got.value - got.target) / got.target * 100:+.1f}%"
            cells.append(f"[red]{text} ✗[/red]" if got.passed is False else (f"{text} ✓" if got.passed else text))
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
