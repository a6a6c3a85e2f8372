"""The line, live, in the Prefect UI — written by one process only (`python -m line.line_view`, which
`bumpline serve` starts and production runs as its own unit), never by the lots' flows racing on one
key. It watches the ledger: any new event (a tool state change, a step's end, a lease), alarm or
hold — or an alarm acknowledged or cleared — changes its fingerprint, and the view is written again
within one period. Changes inside a period are coalesced, but nothing that matters is skipped: an
open alarm or hold stays in the view until it is cleared or answered, and the last alarms and holds
are listed even when they came and went between two writes. Each key keeps its newest `keep`
versions (Prefect keeps every version otherwise).

Artifacts: `line-<name>` (markdown: E10 summary, open alarms with who acknowledged them, open holds,
WIP by step, the E10 table), `line-<name>-tools` (table: state, E10 — down while an alarm is open —,
the lot holding the tool and its job's progress) and `line-<name>-wip` (table: every lot in progress)."""
from __future__ import annotations

import line.prefect_env  # noqa: F401 - Prefect's settings, before Prefect is imported

# isort: split

import json
import logging
import signal
import threading
from collections import Counter
from typing import Any

from sqlalchemy import func, select

from line.config import LineConfig, load_line
from line.dashboard import alarm_text, artifact_key, artifact_link, line_markdown, tool_rows, wip_rows
from line.ledger import Ledger
from line.ledger import models as m
from line.maintenance import down_text, open_downs

log = logging.getLogger(__name__)
RECENT = 10
"""alarms and holds listed in the view however briefly they were open"""


def fingerprint(ledger: Ledger) -> tuple[Any, ...]:
    """Changes whenever anything the view shows may have changed: cheap (three index lookups and a count)."""
    with ledger.session() as s:
        return (s.scalar(select(func.max(m.Event.id))), s.scalar(select(func.max(m.Alarm.id))),
                s.scalar(select(func.max(m.Hold.id))),
                s.scalar(select(func.count()).select_from(m.Alarm).where(m.Alarm.cleared_at.is_(None))))


def job_progress(ledger: Ledger) -> dict[str, str]:
    """tool → `lot step: 3/25 wafers (phase)` for every step running now."""
    with ledger.session() as s:
        running = s.scalars(select(m.StepRun).where(m.StepRun.status == "RUNNING")).all()
    out = {}
    for r in running:
        p = r.progress or {}
        done, total = p.get("wafers_done", 0), p.get("wafers_total", 0)
        out[r.tool_id] = f"{r.lot_id} {r.step_id}: {done}/{total} wafers" + (f" ({p['phase']})" if p.get("phase") else "")
    return out


def live_markdown(ledger: Ledger, line: LineConfig) -> str:
    """The line artifact: what needs a person first (open alarms, open holds, tools down for
    maintenance or flagged by SPC), then the rest."""
    open_alarms = ledger.open_alarms()
    with ledger.session() as s:
        holds = s.scalars(select(m.Hold).where(m.Hold.decision == "").order_by(m.Hold.id)).all()
        recent_alarms = s.scalars(select(m.Alarm).order_by(m.Alarm.id.desc()).limit(RECENT)).all()
        recent_holds = s.scalars(select(m.Hold).order_by(m.Hold.id.desc()).limit(RECENT)).all()
    key = artifact_key("line", line.metadata.name)
    out = [f"Tables: {artifact_link(key + '-tools', 'tools')} · {artifact_link(key + '-wip', 'work in progress')}", "",
           f"## Open alarms: {len(open_alarms)}", ""]
    out += [f"- **{a.tool_id} {alarm_text(a)}** since {a.raised_at:%H:%M:%S}{' — ' + a.ack_note if a.ack_note else ''}"
            for a in open_alarms] or ["none"]
    out += ["", f"## Open holds: {len(holds)}", ""]
    out += [f"- **{artifact_link(artifact_key('lot', h.lot_id), h.lot_id)}** {h.reason_type} since "
            f"{h.created_at:%H:%M:%S}: {h.reason[:160]}" for h in holds] or ["none"]
    downs = open_downs(ledger)
    flags = ledger.open_spc_flags()
    out += ["", f"## Tools down or flagged: {len(downs) + len(flags)}", ""]
    out += [f"- **{tool}** {down_text(d)}" for tool, d in sorted(downs.items())]
    out += [f"- **{f.tool_id}** SPC-flagged at {f.step_id} since {f.raised_at:%H:%M:%S} (lot {f.lot_id}): {f.signal[:120]}"
            for f in flags]
    if not downs and not flags:
        out.append("none")
    wip = wip_rows(ledger)
    by_step = Counter(w.step.split(" ")[0] for w in wip if w.step)
    out += ["", "## WIP by step", "", "| step | lots |", "|---|---:|"]
    out += [f"| {step} | {n} |" for step, n in sorted(by_step.items())] or ["| (none) | 0 |"]
    out += process_control_lines(ledger)
    out += ["", f"## Last {RECENT} alarms", ""]
    out += [f"- {a.raised_at:%H:%M:%S} {a.tool_id} {alarm_text(a)}" for a in recent_alarms] or ["none"]
    out += ["", f"## Last {RECENT} holds", ""]
    out += [f"- {h.created_at:%H:%M:%S} {h.lot_id} {h.reason_type} — {h.decision or 'open'}" for h in recent_holds] or ["none"]
    return "\n".join(out) + "\n\n" + line_markdown(ledger, line)


def process_control_lines(ledger: Ledger) -> list[str]:
    """SPC baselines in force and each run-to-run controller with the last value it sent."""
    from line import r2r

    baselines = ledger.spc_baselines()
    out = ["", f"## Process control: {len(baselines)} SPC baselines", ""]
    out += [f"- SPC {b.step_id} {b.measurement} on {b.tool_id}: {b.chart}, centre {b.center:.5g}, σ {b.sigma:.4g} "
            f"({b.lots} lots, by {b.frozen_by})" for b in baselines]
    for s in r2r.states(ledger):
        last = r2r.adjustments(ledger, s.recipe, s.tool_id, limit=1)
        sent = f"; last sent {last[0].knob} {last[0].value:g} to {last[0].lot_id}" if last else ""
        out.append(f"- R2R {s.recipe} on {s.tool_id}: {s.knob} ({s.model}), estimate {s.estimate:.5g} after {s.lots} lots{sent}")
    return out


class LineView:
    """The one writer of a line's view: `tick()` writes it if the ledger changed since the last write."""

    def __init__(self, ledger: Ledger, line: LineConfig, keep: int = 20) -> None:
        self.ledger, self.line, self.keep = ledger, line, keep
        self.key = artifact_key("line", line.metadata.name)
        self.last: tuple[Any, ...] | None = None
        self.writes = 0

    def tick(self) -> bool:
        now = fingerprint(self.ledger)
        if now == self.last:
            return False
        self.publish()
        self.last = now
        return True

    def publish(self) -> None:
        # through the client, not `create_*_artifact`: those warn (and will refuse) outside a flow run
        from prefect import get_client
        from prefect.client.schemas.actions import ArtifactCreate

        progress = job_progress(self.ledger)
        tools = [{"tool": t.tool_id, "kind": t.kind, "state": t.state, "E10": t.e10,
                  "lot / job": progress.get(t.tool_id, t.holder), "last alarm": t.last_alarm, "since": t.since}
                 for t in tool_rows(self.ledger, self.line)]
        wip = [{"lot": w.lot_id, "product": w.product, "status": w.status, "step": w.step, "tool": w.tool_id,
                "wafers": w.wafers, "reason": w.reason} for w in wip_rows(self.ledger)]
        down = sum(1 for t in tools if t["E10"] == "UNSCHEDULED_DOWNTIME")
        name = self.line.metadata.name
        with get_client(sync_client=True) as client:
            client.create_artifact(ArtifactCreate(
                key=self.key, type="markdown", data=live_markdown(self.ledger, self.line),
                description=f"Line {name}: {down} tools down, {len(wip)} lots in progress"))
            client.create_artifact(ArtifactCreate(key=f"{self.key}-tools", type="table", data=json.dumps(tools),
                                                  description=f"Line {name}: tools"))
            client.create_artifact(ArtifactCreate(key=f"{self.key}-wip", type="table",
                                                  data=json.dumps(wip or [{"lot": "(none)"}]),
                                                  description=f"Line {name}: work in progress"))
        self.writes += 1
        if self.writes % 10 == 1:
            self.prune()

    def prune(self) -> None:
        """Keep the newest `keep` versions under each of the view's keys."""
        from prefect import get_client
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
        from prefect.client.schemas.sorting import ArtifactSort

        with get_client(sync_client=True) as client:
            for key in (self.key, f"{self.key}-tools", f"{self.key}-wip"):
                old = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                            sort=ArtifactSort.CREATED_DESC, offset=self.keep, limit=200)
                for artifact in old:
                    client.delete_artifact(artifact.id)

    def run(self, stop: threading.Event, period_s: float = 1.0) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("line view not written")
            stop.wait(period_s)


def main() -> None:
    """`python -m line.line_view`: the line config from BUMPLINE_LINE, the ledger from BUMPLINE_DB_URL
    (or the default); stops within a period on SIGTERM or SIGINT."""
    from line.operate import line_path

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    cfg = load_line(line_path())
    ledger = Ledger()
    log.info("writing the view of line %s from %s", cfg.metadata.name, ledger.url)
    try:
        LineView(ledger, cfg).run(stop)
    finally:
        ledger.dispose()


if __name__ == "__main__":
    main()
