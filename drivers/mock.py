"""The mock tier: a recording backend that plays a job instantly from a script — no simulator, no
socket, no clock. For unit tests of policy (what the front end, the step and the flow decide), not
of physics. It records every call, so a test can assert what was (and was not) sent to the tool.

A job advances one phase per status poll: the kind's phases in order, then PROCESS_COMPLETE with a
result row per wafer carrying every measurement field the kind's spec declares. A `Script` changes
that: live readings (what an interlock reads), measurement values, an alarm at a given poll, wafers
the tool did not process, a pause.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drivers.errors import CommandRejected, JobConflict
from drivers.jobs import Alarm, Identity, JobStatus, body_hash
from drivers.spec import KindSpec
from drivers.vocabulary import FINAL_JOB_STATES, DeviceError, JobState, ToolState, WaferStatus


@dataclass
class Script:
    readings: dict[str, Any] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    """result-row field -> value (default 1.0 for every declared measurement field)"""
    alarm_at_poll: int | None = None
    alarm: str = ""
    """the declared alarm name raised at `alarm_at_poll` (the job stops in PAUSED with the tool in ALARM)"""
    not_processed: tuple[str, ...] = ()


@dataclass
class _Job:
    job_id: str
    wafers: list[str]
    state: JobState = JobState.WAITING_FOR_START
    phase_index: int = -1
    polls: int = 0
    start_count: int = 0


class RecordingBackend:
    """A `JobBackend` (and any kind's extras, as recorded no-ops) that plays jobs from a `Script`."""

    remembers_jobs = True

    def __init__(self, tool_id: str, spec: KindSpec, script: Script | None = None) -> None:
        self.tool_id, self.spec = tool_id, spec
        self.script = script or Script()
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.jobs: dict[str, _Job] = {}
        self.current: _Job | None = None
        self.alarm_rows: list[Alarm] = []
        self.recipe: dict[str, Any] | None = None

    def _record(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))

    def called(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)

    def __getattr__(self, name: str) -> Any:
        """A kind's extra read (pressure, lamp, cells): recorded, answered from `script.values`."""
        if name.startswith("_"):
            raise AttributeError(name)

        def extra(*args: Any) -> Any:
            self._record(name, *args)
            return self.script.values.get(name, 0.0)
        return extra

    # ---- the job API ---------------------------------------------------------------------------
    def open(self) -> None:
        self._record("open")

    def close(self) -> None:
        self._record("close")

    def identify(self) -> Identity:
        self._record("identify")
        return Identity("mock", self.spec.kind, self.tool_id, "0")

    def load_recipe(self, body: dict[str, Any]) -> str:
        self._record("load_recipe", body)
        self.recipe = body
        self.script.readings = {**self.spec.healthy_readings(body), **self.script.readings}
        return body_hash(body)

    def create_job(self, job_id: str, wafers: list[str]) -> None:
        self._record("create_job", job_id, tuple(wafers))
        if job_id in self.jobs:
            raise JobConflict(self.tool_id, job_id, self.jobs[job_id].state)
        self.current = self.jobs[job_id] = _Job(job_id, list(wafers))

    def start(self, job_id: str) -> None:
        self._record("start", job_id)
        job = self.jobs.get(job_id)
        if job is None:
            raise CommandRejected(self.tool_id, "start", DeviceError.UNKNOWN_JOB, f"Unknown job {job_id}")
        if job.state == JobState.WAITING_FOR_START:
            job.state, job.start_count = JobState.PROCESSING, job.start_count + 1

    def pause(self) -> None:
        self._record("pause")
        if self.current and self.current.state == JobState.PROCESSING:
            self.current.state = JobState.PAUSED

    def resume(self) -> None:
        self._record("resume")
        if self.current and self.current.state == JobState.PAUSED:
            if self.alarm_rows:
                raise CommandRejected(self.tool_id, "resume", DeviceError.ALARM_ACTIVE, "Alarm active")
            self.current.state = JobState.PROCESSING

    def abort(self) -> None:
        self._record("abort")
        if self.current and self.current.state not in FINAL_JOB_STATES:
            self.current.state = JobState.ABORTED

    def clear_alarms(self) -> None:
        self._record("clear_alarms")
        self.alarm_rows.clear()

    def maintain(self, action: str, item: str = "") -> None:
        self._record("maintain", action, item)
        self.spec.maintenance_action(action).check(item)
        if self.current and self.current.state not in FINAL_JOB_STATES:
            raise CommandRejected(self.tool_id, "maintain", DeviceError.BUSY, "job running")

    def _advance(self, job: _Job) -> None:
        if job.state != JobState.PROCESSING:
            return
        job.polls += 1
        if self.script.alarm_at_poll is not None and job.polls == self.script.alarm_at_poll and not self.alarm_rows:
            declared = self.spec.alarm(self.script.alarm)
            self.alarm_rows.append(Alarm(declared.alid, declared.name, declared.text, job.job_id, job.wafers[0]))
            job.state = JobState.PAUSED
            return
        job.phase_index += 1
        if job.phase_index >= len(self.spec.phases):
            job.state = JobState.PROCESS_COMPLETE

    def _status(self, job: _Job | None, job_id: str = "") -> JobStatus:
        if self.alarm_rows:
            tool_state = ToolState.ALARM
        elif job is None or job.state in FINAL_JOB_STATES:
            tool_state = ToolState.IDLE
        else:
            tool_state = {JobState.WAITING_FOR_START: ToolState.READY,
                          JobState.PAUSED: ToolState.PAUSED}.get(job.state, ToolState.EXECUTING)
        if job is None:
            return JobStatus(job_id, tool_state, JobState.NONE, "", 0, 0, 0, dict(self.script.readings))
        running = job.state == JobState.PROCESSING and 0 <= job.phase_index < len(self.spec.phases)
        phase = self.spec.phases[job.phase_index] if running else ""
        done = len(job.wafers) if job.state == JobState.PROCESS_COMPLETE else 0
        return JobStatus(job.job_id, tool_state, job.state, phase, 1 if running else 0, done, len(job.wafers),
                         dict(self.script.readings))

    def status(self) -> JobStatus:
        self._record("status")
        if self.current:
            self._advance(self.current)
        return self._status(self.current)

    def info(self, job_id: str) -> JobStatus:
        self._record("info", job_id)
        job = self.jobs.get(job_id)
        if job is not None:
            self._advance(job)
        return self._status(job, job_id)

    def last_job(self) -> tuple[str, str]:
        self._record("last_job")
        return (self.current.job_id, self.current.state) if self.current else ("", JobState.NONE)

    def results(self, job_id: str) -> list[dict[str, Any]]:
        self._record("results", job_id)
        job = self.jobs.get(job_id)
        if job is None:                    # as a tool answers: a refusal, not a crash
            raise CommandRejected(self.tool_id, "results", DeviceError.UNKNOWN_JOB, f"Unknown job {job_id!r}")
        rows = []
        for slot, wafer in enumerate(job.wafers, 1):
            if job.state == JobState.PROCESS_COMPLETE and wafer not in self.script.not_processed:
                status = WaferStatus.PROCESSED
            elif job.state == JobState.ABORTED and slot == 1:
                status = WaferStatus.ABORTED
            else:
                status = WaferStatus.NOT_PROCESSED
            row: dict[str, Any] = {"wafer_id": wafer, "slot": slot, "status": status}
            if status == WaferStatus.PROCESSED:
                for m in self.spec.measurements:
                    if m.field:
                        row[m.field] = self.script.values.get(m.field, 1.0)
            rows.append(row)
        return rows

    def alarms(self) -> list[Alarm]:
        self._record("alarms")
        return list(self.alarm_rows)
