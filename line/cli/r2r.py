"""`bumpline r2r show`: run-to-run control as data — each controller's estimate per (recipe version,
tool) and the newest derived recipes, each with its approved parent, the knob's value sent, the
estimate it came from and the measurement that set that estimate."""
from __future__ import annotations

import json

import typer
from rich.table import Table

from line.cli.common import console

app = typer.Typer(no_args_is_help=True, help="Run-to-run control: controllers and the derived recipes they sent.")


@app.command("show")
def show(recipe: str = typer.Option("", "--recipe", help="one recipe version, e.g. ep-cu-5um-2asd@v2"),
         tool: str = typer.Option("", "--tool", help="one tool"),
         lot: str = typer.Option("", "--lot", help="one lot's derived recipes"),
         limit: int = typer.Option(20, "--limit", min=1, max=10000, help="how many of the newest derived recipes"),
         as_json: bool = typer.Option(False, "--json", help="print JSON (for scripts) instead of tables")) -> None:
    """Controllers and the newest derived recipes."""
    from line import r2r
    from line.ledger import Ledger

    ledger = Ledger()
    try:
        states = [s for s in r2r.states(ledger) if (not recipe or s.recipe == recipe) and (not tool or s.tool_id == tool)]
        rows = r2r.adjustments(ledger, recipe, tool, lot, limit)
        if as_json:
            print(json.dumps({
                "controllers": [{"recipe": s.recipe, "tool": s.tool_id, "knob": s.knob, "model": s.model,
                                 "estimate": s.estimate, "lots": s.lots, "updated": s.updated_at.isoformat()} for s in states],
                "derived": [{"job": a.job_id, "lot": a.lot_id, "step": a.step_id, "tool": a.tool_id, "recipe": a.recipe,
                             "parent_sha256": a.parent_sha256, "derived_sha256": a.derived_sha256, "knob": a.knob,
                             "parent_value": a.parent_value, "value": a.value, "clipped": a.clipped, "target": a.target,
                             "estimate": a.estimate, "basis_job": a.basis_job_id or None, "basis_mean": a.basis_mean,
                             "measured_mean": a.measured_mean, "measured_n": a.measured_n,
                             "estimate_after": a.estimate_after} for a in rows]}, indent=2))
            return
        table = Table("recipe", "tool", "knob", "model", "estimate", "lots", "updated", title="controllers")
        for s in states:
            table.add_row(s.recipe, s.tool_id, s.knob, s.model, f"{s.estimate:.6g}", str(s.lots),
                          f"{s.updated_at:%Y-%m-%d %H:%M:%S}")
        console.print(table if states else "no run-to-run controller has learned yet")
        derived = Table("lot", "step", "tool", "knob: parent → sent", "target", "from (job: mean)", "measured",
                        "derived sha256", title="derived recipes, newest first")
        for a in rows:
            basis = f"{a.basis_job_id}: {a.basis_mean:.4g}" if a.basis_job_id and a.basis_mean is not None else "parent"
            derived.add_row(a.lot_id, a.step_id, a.tool_id,
                            f"{a.knob} {a.parent_value:g} → {a.value:g}" + (" (at its bound)" if a.clipped else ""),
                            f"{a.target:g}", basis, "" if a.measured_mean is None else f"{a.measured_mean:.4g}",
                            a.derived_sha256[:12])
        console.print(derived if rows else "no derived recipes")
    finally:
        ledger.dispose()
