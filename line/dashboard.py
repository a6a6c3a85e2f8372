"""The operator's view in the Prefect UI, built from the ledger: one markdown artifact per lot (steps,
tool, recipe hash, results, holds) and one for the line (every tool's E10 state, who holds it, its
last alarm; the work in progress). The same rows feed `bumpline status`."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from line.hold_view import decision_text, measurements_markdown
from line.ledger import Ledger
from line.ledger import models as m
from line.prefect_api import create_artifact
from line.tracking import e10_state, last_tool_state_event
from line.utilization import E10_STATES, SHORT, ToolE10, e10_report

if TYPE_CHECKING:
    from line.config import LineConfig
    from line.plan import LotPlan

ENDED = ("COMPLETE", "ABORTED")
log = logging.getLogger(__name__)


@dataclass
class ToolRow:
    tool_id: str
    kind: str
    state: str       # the driver's last reported state
    e10: str         # SEMI E10 state derived from it
    holder: str      # the job holding the tool's lease
    last_alarm: str
    since: str


@dataclass
class WipRow:
    lot_id: str
    product: str
    status: str
    step: str
    tool_id: str
    wafers: str
    reason: str


def tool_rows(ledger: Ledger, line: LineConfig) -> list[ToolRow]:
    """Each tool as the ledger knows it. A tool taken down for maintenance is DOWN in the down's E10
    state; a tool with an alarm it has not reported cleared is down (ALARM, unscheduled downtime)
    whatever its last state event says — acknowledged or not."""
    from line.maintenance import open_downs

    rows = []
    open_by_tool: dict[str, list[m.Alarm]] = {}
    for a in ledger.open_alarms():
        open_by_tool.setdefault(a.tool_id, []).append(a)
    downs = open_downs(ledger)
    with ledger.session() as s:
        for tool in line.tools:
            ev = last_tool_state_event(s, tool.id)
            lease = s.get(m.ToolLease, tool.id)
            alarm = s.scalars(select(m.Alarm).where(m.Alarm.tool_id == tool.id)
                              .order_by(m.Alarm.id.desc()).limit(1)).first()
            state = ev.dest if ev else "UNKNOWN"
            e10 = e10_state(state) if ev else "UNKNOWN"           # never observed: no E10 state to claim
            if (d := downs.get(tool.id)) is not None:      # taken down: what the operator said it is
                state, e10 = "DOWN", d.e10
            if open_ := open_by_tool.get(tool.id):
                state, e10 = "ALARM", "UNSCHEDULED_DOWNTIME"
                alarm = open_[-1]
            rows.append(ToolRow(tool.id, tool.kind, state, e10, lease.holder if lease else "",
                                alarm_text(alarm) if alarm else "", f"{ev.at:%H:%M:%S}" if ev else ""))
    return rows


def alarm_text(a: m.Alarm) -> str:
    """`7001 MISALIGNMENT (open, ack by ana)` — an alarm and where it stands."""
    if a.cleared_at is not None:
        return f"{a.alid} {a.name} (cleared)"
    return f"{a.alid} {a.name} (open{', ack by ' + a.acknowledged_by if a.acknowledged_by else ', not acknowledged'})"


def wip_rows(ledger: Ledger) -> list[WipRow]:
    rows = []
    with ledger.session() as s:      # only the lots in progress: the ledger keeps every lot ever run
        live = s.scalars(select(m.Lot).where(m.Lot.status.not_in(ENDED)).order_by(m.Lot.created_at)).all()
    for lot in live:
        runs = ledger.step_runs(lot.id)
        last = runs[-1] if runs else None
        in_lot = sum(1 for w in ledger.wafers(lot.id) if w.state != "SCRAPPED")
        rows.append(WipRow(lot.id, lot.product, lot.status, f"{last.step_id} {last.status}" if last else "",
                           last.tool_id if last else "", str(in_lot), lot.hold_reason[:120]))
    return rows


def line_markdown(ledger: Ledger, line: LineConfig) -> str:
    tools, wip = tool_rows(ledger, line), wip_rows(ledger)
    by_e10: dict[str, int] = {}
    for t in tools:
        by_e10[t.e10] = by_e10.get(t.e10, 0) + 1
    out = [f"# Line {line.metadata.name}", "",
           "E10: " + ", ".join(f"**{n}** {s.lower().replace('_', ' ')}" for s, n in sorted(by_e10.items())),
           f" — WIP: **{len(wip)}** lots, **{sum(int(w.wafers) for w in wip)}** wafers", "",
           "| tool | kind | state | E10 | held by | last alarm | since |", "|---|---|---|---|---|---|---|"]
    out += [f"| {t.tool_id} | {t.kind} | {t.state} | {t.e10} | {t.holder} | {t.last_alarm} | {t.since} |"
            for t in tools]
    out += ["", "## Work in progress", "", "| lot | product | status | last step | tool | wafers | reason |",
            "|---|---|---|---|---|---|---|"]
    out += [f"| {w.lot_id} | {w.product} | {w.status} | {w.step} | {w.tool_id} | {w.wafers} | {w.reason} |"
            for w in wip] or ["| (none) | | | | | | |"]
    out += ["", f"## E10, last {E10_WINDOW_H:g} h", "", "Share of the time the ledger observed (from its first "
            "word of the tool) in each state; uptime and utilization of operations time (observed − NST).", "",
            "| tool | observed | " + " | ".join(SHORT[s] for s in E10_STATES) + " | uptime | utilization |",
            "|---|---:|" + "---:|" * (len(E10_STATES) + 2)]
    out += [f"| {r.tool_id} | {observed_text(r)} | " + " | ".join(e10_cells(r)) + " |" for r in e10_window(ledger, line)]
    return "\n".join(out)


E10_WINDOW_H = 24.0


def e10_window(ledger: Ledger, line: LineConfig, hours: float = E10_WINDOW_H) -> list[ToolE10]:
    until = datetime.now(UTC)
    return e10_report(ledger, [t.id for t in line.tools], until - timedelta(hours=hours), until)


def e10_cells(row: ToolE10) -> list[str]:
    """Each state's share, uptime and utilization as text; dashes for a tool never observed."""
    if not row.observed_s:
        return ["—"] * (len(E10_STATES) + 2)
    return [f"{pct:.0f} %" for pct in window_shares(row)] + [f"{row.uptime_pct:.0f} %", f"{row.utilization_pct:.0f} %"]


def observed_text(row: ToolE10) -> str:
    """How much of the window the ledger observed the tool ("never": nothing in it)."""
    if not row.observed_s:
        return "never"
    if row.observed_s < 60:
        return f"{row.observed_s:.0f} s"
    return f"{row.observed_s / 3600:.1f} h" if row.observed_s >= 360 else f"{row.observed_s / 60:.0f} min"


def window_shares(row: ToolE10) -> list[float]:
    """Percent of the observed part of the window in each E10 state, in E10_STATES order (all 0 for
    a tool the ledger never saw)."""
    total = row.observed_s or 1.0
    return [100.0 * row.seconds[s] / total for s in E10_STATES]


def lot_markdown(ledger: Ledger, lot_id: str, plan: LotPlan) -> str:
    runs = {r.step_id: r for r in ledger.step_runs(lot_id)}
    lot = ledger.known_lot(lot_id)
    route = plan.route
    title = f"product {route.label}" if route else "one tool step"
    sha = route.sha256 if route else plan.steps[0].sha256
    line_key = artifact_key("line", plan.line.metadata.name)
    out = [f"# Lot {lot_id} — {title}", "",
           f"Route `{plan.ref}` sha256 `{sha[:16]}…` — **{lot.status}** {lot.hold_reason}", "",
           f"The line: {artifact_link(line_key, 'line view')} · {artifact_link(line_key + '-tools', 'tools')} · "
           f"progress {artifact_link(artifact_key('progress-lot', lot_id), 'of this lot')}", "",
           "| step | operation | tool | recipe (sha256) | status | wafers |", "|---|---|---|---|---|---|"]
    for step in plan.steps:
        r = runs.get(step.id)
        if r is None:
            out.append(f"| {step.id} | {step.operation} | | {step.recipe.ref} | pending | |")
            continue
        results = ledger.results(r.id)
        ok = sum(1 for x in results if x.status == "PROCESSED")
        again = f" (rework {r.rework})" if r.rework else ""          # the held attempt is in the holds below
        out.append(f"| {step.id} | {step.operation} | {r.tool_id} | {r.recipe_name}@v{r.recipe_version} "
                   f"(`{r.recipe_hash[:10]}`) | {r.status}{again} | {ok}/{len(results)} |")
    if route is None and (last := runs.get(plan.steps[0].id)) is not None:
        out += ["", "| wafer | status | measurements |", "|---|---|---|"]
        by_wafer: dict[str, list[str]] = {}
        for ms in ledger.measurements(last.id):
            by_wafer.setdefault(ms.wafer_id, []).append(f"{ms.name}={ms.value:g} {ms.unit}")
        for res in ledger.results(last.id):
            out.append(f"| {res.wafer_id} | {res.status} | {'; '.join(by_wafer.get(res.wafer_id, []))} |")
    for a in ledger.alarms(lot_id):
        out += ["", f"Alarm {a.alid} {a.name} on {a.tool_id}: {a.text}"]
    for h in ledger.holds(lot_id):
        out += ["", f"Hold **{h.reason_type}**: {h.reason} — {decision_text(h)}"]
    out += process_control_markdown(ledger, lot_id)
    if route is not None:
        for r in ledger.step_runs(lot_id):
            if rows := ledger.measurements(r.id):
                again = f" rework {r.rework}" if r.rework else ""
                out += ["", f"### {r.step_id}{again} on {r.tool_id}", ""] + measurements_markdown(rows)
    return "\n".join(out)


def process_control_markdown(ledger: Ledger, lot_id: str) -> list[str]:
    """What process control did to and saw in this lot: each run-to-run adjustment (parent value, the
    value sent, the measurement behind it) and each SPC signal (rule, value, what it did)."""
    from line import r2r

    out: list[str] = []
    for a in reversed(r2r.adjustments(ledger, lot_id=lot_id)):
        basis = (f"from {a.basis_job_id}'s mean {a.basis_mean:.4g}" if a.basis_job_id and a.basis_mean is not None
                 else "the approved value (the controller's first lot)")
        out += ["", f"R2R at {a.step_id} on {a.tool_id}: {a.knob} {a.parent_value:g} → **{a.value:g}**"
                    f"{' (at its bound)' if a.clipped else ''} toward {a.target:g}, {basis}; derived `{a.derived_sha256[:10]}` "
                    f"of {a.recipe}" + (f"; measured {a.measured_mean:.4g}" if a.measured_mean is not None else "")]
    for r in ledger.step_runs(lot_id):
        for ev in ledger.events("spc", step_run_id=r.id):
            d = ev.data
            if ev.dest == "SIGNAL":
                out += ["", f"SPC signal at {d['step']} {d['measurement']} on {d['tool']} ({d['action']}): "
                            f"{'; '.join(d['rules'])} — lot mean {d['value']:.4g}, z {d['z']:+.2f}"]
            elif ev.dest == "NOT_JUDGED":
                out += ["", f"SPC at {d['step']} {d['measurement']} on {d['tool']}: **not judged** — {d.get('note', '')}"]
    return out


def artifact_key(prefix: str, name: str) -> str:
    return prefix + "-" + "".join(c if c.isalnum() else "-" for c in name.lower())


def artifact_link(key: str, text: str = "") -> str:
    """A markdown link to the newest version of an artifact in the Prefect UI (its v2 pages; the UI's
    address from PREFECT_UI_URL, which Prefect derives from the API's), or the bare key without one."""
    try:
        from prefect.settings import PREFECT_UI_URL

        ui = (PREFECT_UI_URL.value() or "").rstrip("/")
    except Exception:  # noqa: BLE001 - no Prefect settings: no link, the key still names it
        ui = ""
    return f"[{text or key}]({ui}/v2/artifacts/key/{key})" if ui else f"`{key}`"


def publish_lot(ledger: Ledger, lot_id: str, plan: LotPlan) -> None:
    with ledger.together():         # its many reads in one transaction
        lot = ledger.known_lot(lot_id)
        text = lot_markdown(ledger, lot_id, plan)
    create_artifact("markdown", text, f"Lot {lot_id}: {lot.status}", key=artifact_key("lot", lot_id))
