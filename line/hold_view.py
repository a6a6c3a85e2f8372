"""What a person deciding a hold needs to see, from the ledger: the measurements of the held step
against the limits the step judged them by (failures first), the alarm the tool raised, and — once
decided — who decided what and why. One source for the Resume form, the lot artifact and `lot show`."""
from __future__ import annotations

from line.chart_artifacts import charts_url
from line.ledger import Ledger
from line.ledger import models as m
from line.spc.view import chart_markdown

MAX_ROWS = 25
"""the form shows at most this many measurement rows (failures first): a 25-wafer lot fits"""


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def measurements_markdown(rows: list[m.Measurement], limit: int = MAX_ROWS) -> list[str]:
    """A markdown table of a step's measurements against the limits stored with them, failures
    first, at most `limit` rows (the rest counted)."""
    if not rows:
        return []
    ordered = sorted(rows, key=lambda r: (r.passed is not False, r.wafer_id, r.name))
    mark = {True: "pass", False: "**FAIL**", None: "—"}
    out = ["| wafer | measurement | value | target | LSL | USL | |", "|---|---|---:|---:|---:|---:|---|"]
    out += [f"| {r.wafer_id} | {r.name} | {r.value:g} {r.unit} | {_num(r.target)} | {_num(r.lsl)} | {_num(r.usl)} | "
            f"{mark[r.passed]} |" for r in ordered[:limit]]
    if len(ordered) > limit:
        out.append(f"| … {len(ordered) - limit} more | | | | | | |")
    return out


def decision_text(hold: m.Hold) -> str:
    if not hold.decision:
        return "open — waiting for a decision"
    when = f" at {hold.decided_at:%Y-%m-%d %H:%M:%S} UTC" if hold.decided_at else ""
    return f"{hold.decision} by {hold.decided_by}{when}" + (f" — “{hold.note}”" if hold.note else "")


def evidence_markdown(ledger: Ledger, hold: m.Hold | None) -> str:
    """The evidence behind a hold: its reason, the tool's alarm on the held step, the SPC chart a
    signal came from (its picture and newest lots), the step's measurements against their limits."""
    if hold is None:
        return ""
    out = [f"**{hold.reason_type}**: {hold.reason}"]
    if hold.step_run_id is not None:
        alarms = ledger.alarms(step_run_id=hold.step_run_id)
        out += [f"- alarm **{a.alid} {a.name}** on {a.tool_id}{' wafer ' + a.wafer_id if a.wafer_id else ''}: {a.text}"
                for a in alarms]
        for ev in [e for e in ledger.events("spc", step_run_id=hold.step_run_id) if e.dest == "SIGNAL"]:
            d = ev.data
            out += [""] + chart_markdown(ledger, d["step"], d["measurement"], d["tool"], charts_url())
        rows = ledger.measurements(hold.step_run_id)
        if rows:
            out += ["", "Measurements of the held step against the limits it was judged by:", ""]
            out += measurements_markdown(rows)
    return "\n".join(out)
