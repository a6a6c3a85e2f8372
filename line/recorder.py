"""What a step tells the world, as typed events, and the one recorder that writes them down.

`ToolStep` emits: the tool's state changed, the job progressed, wafers moved, a job was reattached,
an alarm was raised, results were measured, the step ended. The recorder writes each to the ledger
(in one transaction where one status reply told several things) and sends the Prefect events the
UI's feed and automations use. It is also the one place to listen to a step live: a live line view
or SPC registers with `listen` and sees every event after it is recorded.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from drivers.jobs import Alarm, JobStatus, WaferResult
from drivers.states import StateChange
from drivers.vocabulary import ToolState
from line.events import emit_tool_event
from line.ledger import Ledger
from line.spec_limits import Limits
from line.tracking import ProcessJob, e10_state

if TYPE_CHECKING:
    from line.spc.control import Finding
    from line.steps import StepOutcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StateChanged:
    change: StateChange


@dataclass(frozen=True)
class JobProgressed:
    status: JobStatus
    previous: JobStatus | None


@dataclass(frozen=True)
class JobReattached:
    state: str
    """the job's state on the tool when the step found it there"""


@dataclass(frozen=True)
class StartSent:
    """Written (committed) before the start command leaves: from here on the tool may be running the
    job, so a later orchestrator that finds the tool without it holds the step — never sets it up again."""
    expected_s: float | None = None
    """wall seconds the job should run (the job-time model): when the tool is expected free again"""


@dataclass(frozen=True)
class WafersMoved:
    wafers: tuple[str, ...]
    to: str
    why: str


@dataclass(frozen=True)
class AlarmRaised:
    alarm: Alarm


@dataclass(frozen=True)
class Measured:
    results: tuple[WaferResult, ...]
    limits: Mapping[tuple[str, str], Limits] = field(default_factory=dict)
    """(wafer, measurement) → the limits the step judges it against (stored with the value)"""


@dataclass(frozen=True)
class SpcSignalled:
    findings: tuple[Finding, ...]
    """the lot's points that completed a run rule on an SPC chart of the step"""


@dataclass(frozen=True)
class StepEnded:
    outcome: StepOutcome
    unloaded: bool = field(default=True)


StepEvent = (StateChanged | JobProgressed | JobReattached | StartSent | WafersMoved | AlarmRaised | Measured
             | SpcSignalled | StepEnded)
Listener = Callable[["StepContext", StepEvent], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> Callable[[], None]:
    """Hear every step event after it is recorded (a live view, SPC); returns the way to stop."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


@dataclass(frozen=True)
class StepContext:
    lot_id: str
    step_id: str
    step_run_id: int
    tool_id: str
    kind: str
    job_id: str
    wafers: tuple[str, ...]
    riders: tuple[tuple[int, tuple[str, ...]], ...] = ()
    """a batch job's other lots: (their step run, their wafers), in the job's slot order after ours"""

    def job_wafers(self) -> list[tuple[str, int]]:
        """Every wafer of the job in slot order, with the step run it belongs to."""
        return [(w, self.step_run_id) for w in self.wafers] + [(w, run) for run, ws in self.riders for w in ws]


class Recorder:
    """Writes one step's events to the ledger and the Prefect event feed, then tells the listeners."""

    def __init__(self, ledger: Ledger, ctx: StepContext) -> None:
        self.ledger, self.ctx = ledger, ctx
        self.job: ProcessJob | None = None

    def open_job(self) -> None:
        """The step is about to talk to the tool: its E40 job mirror starts (QUEUED) and records."""
        ctx = self.ctx
        self.job = ProcessJob(ctx.job_id, lambda src, dst, trig, n: self.ledger.record_event(
            "job", ctx.job_id, src, dst, trig, ctx.step_run_id, {"e40": n, "tool": ctx.tool_id}))

    def __call__(self, event: StepEvent) -> None:
        write = getattr(self, f"_{type(event).__name__}")
        write(event)
        for listener in list(_listeners):
            try:
                listener(self.ctx, event)
            except Exception:
                log.exception("step event listener %r failed", listener)

    def _StateChanged(self, e: StateChanged) -> None:
        ch, ctx = e.change, self.ctx
        e10 = e10_state(ch.dest)
        self.ledger.record_event("tool", ch.tool_id, ch.source, ch.dest, ch.trigger, ctx.step_run_id,
                                 {"job": ch.job_id, "e10": e10})
        if ch.trigger in ("connect", "disconnect") and e10 in ("STANDBY", "NON_SCHEDULED") \
                or e10_state(ch.source) == e10:
            # the host (dis)connected to a tool doing nothing, or a phase within one E10 state: the
            # ledger has it; the feed tells E10 changes only (PRODUCTIVE, back to STANDBY, ALARM …)
            return
        emit_tool_event(ch.tool_id, ctx.kind, "state", {"from": ch.source, "to": ch.dest, "e10": e10,
                                                        "trigger": ch.trigger, "job": ch.job_id},
                        related={"lot": ctx.lot_id, "job": ch.job_id}, detail=ch.dest)

    def _JobProgressed(self, e: JobProgressed) -> None:
        status, last, ctx = e.status, e.previous, self.ctx
        with self.ledger.together():    # what one status reply told: its job, wafer and progress records
            if status.tool_state != ToolState.ALARM and (last is None or last.tool_state == ToolState.ALARM):
                self.ledger.alarms_cleared(ctx.tool_id)     # the tool itself says its alarm is gone
            if self.job and (last is None or last.job_state != status.job_state):
                self.job.follow(status.job_state)
            slots = ctx.job_wafers()
            if status.wafer_index and (last is None or last.wafer_index != status.wafer_index):
                if 0 < status.wafer_index <= len(slots):
                    # polls are paced by the job's length, so a reply may be several wafers on: the
                    # ones passed between two replies started in slot order, each is recorded
                    first = last.wafer_index + 1 if last and 0 < last.wafer_index < status.wafer_index \
                        else status.wafer_index
                    started: dict[int, list[str]] = {}
                    for wafer, run in slots[first - 1:status.wafer_index]:
                        started.setdefault(run, []).append(wafer)
                    for run, wafers in started.items():
                        self.ledger.set_wafer_state(wafers, "IN_PROCESS", ctx.tool_id, "slot-start", run)
            progress = {"job_state": status.job_state, "tool_state": status.tool_state, "phase": status.phase,
                        "wafer_index": status.wafer_index, "wafers_done": status.wafers_done,
                        "wafers_total": status.wafers_total, "readings": status.readings}
            for run in (ctx.step_run_id, *(r for r, _ in ctx.riders)):     # a batch job's progress is every lot's
                self.ledger.update_progress(run, progress)

    def _JobReattached(self, e: JobReattached) -> None:
        self.ledger.record_event("job", self.ctx.job_id, "", e.state, "reattach", self.ctx.step_run_id)

    def _StartSent(self, e: StartSent) -> None:
        self.ledger.record_event("job", self.ctx.job_id, "", "", "start-sent", self.ctx.step_run_id,
                                 {"tool": self.ctx.tool_id, "expected_s": e.expected_s})

    def _WafersMoved(self, e: WafersMoved) -> None:
        self.ledger.move_wafers(list(e.wafers), e.to, e.why, self.ctx.step_run_id)

    def _AlarmRaised(self, e: AlarmRaised) -> None:
        a, ctx = e.alarm, self.ctx
        self.ledger.record_alarm(ctx.tool_id, a, ctx.step_run_id)
        emit_tool_event(ctx.tool_id, ctx.kind, "alarm", {"alid": a.alid, "name": a.name, "text": a.text,
                                                         "wafer": a.wafer_id, "lot": ctx.lot_id},
                        related={"lot": ctx.lot_id, "job": ctx.job_id}, detail=f"{a.alid}-{a.name}")

    def _Measured(self, e: Measured) -> None:
        self.ledger.record_results(self.ctx.step_run_id, self.ctx.tool_id, list(e.results), e.limits)

    def _SpcSignalled(self, e: SpcSignalled) -> None:
        ctx = self.ctx
        seen = {ev.entity_id for ev in self.ledger.events("spc", step_run_id=ctx.step_run_id)
                if ev.dest in ("SIGNAL", "NOT_JUDGED")}
        findings = [f for f in e.findings if f.key not in seen]      # a resumed step judges again: record once
        with self.ledger.together():    # the signal and the flag it raises, at once
            for f in findings:
                self.ledger.record_event("spc", f.key, "", "SIGNAL" if f.signals else "NOT_JUDGED", f.action,
                                         ctx.step_run_id, f.data())
                if f.action == "flag" and f.signals:
                    self.ledger.raise_spc_flag(ctx.tool_id, f.step_id, f.measurement, ctx.lot_id, ctx.step_run_id, f.text)
        for f in findings:
            emit_tool_event(ctx.tool_id, ctx.kind, "spc", f.data(), related={"lot": ctx.lot_id, "job": ctx.job_id},
                            detail=f"{f.step_id}-{f.measurement}")

    def _StepEnded(self, e: StepEnded) -> None:
        o = e.outcome
        with self.ledger.together():    # the step's end: unloaded, finished and (maybe) held at once
            if e.unloaded:
                self.ledger.move_wafers(list(self.ctx.wafers), "stocker", "unload", self.ctx.step_run_id)
            self.ledger.finish_step(self.ctx.step_run_id, o.status)
            if o.hold_type:
                self.ledger.open_hold(self.ctx.lot_id, self.ctx.step_run_id, o.hold_type, o.hold_reason)

