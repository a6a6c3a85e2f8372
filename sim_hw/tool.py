"""`SimTool`: what every simulated tool shares — recipe upload, E40-style jobs that run to
completion on the virtual clock whether or not a host is connected, alarms, faults, a job log.

A kind subclass writes the physics: `process_wafer` for single-wafer tools (walked in slot order), or `process` for batch tools.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from drivers.jobs import body_hash
from drivers.limits import Limit, check_limits
from drivers.spec import KindSpec
from drivers.vocabulary import FINAL_JOB_STATES, DeviceError, JobState, ToolState, WaferStatus
from sim_hw.clock import VirtualClock
from sim_hw.consumables import Consumables
from sim_hw.errors import AlarmStop, SimError
from sim_hw.faults import FaultBook
from sim_hw.timeline import JobTimeline
from sim_hw.world import WorldModel

log = logging.getLogger(__name__)


@dataclass
class SimJob:
    job_id: str
    wafers: list[str]
    recipe: dict[str, Any]
    recipe_hash: str
    created_s: float
    state: str = JobState.WAITING_FOR_START
    phase: str = ""
    wafer_index: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    started_s: float | None = None
    ended_s: float | None = None
    start_count: int = 0
    pause_requested: bool = False
    resume_event: asyncio.Event | None = None
    task: asyncio.Task | None = None

    @property
    def wafers_done(self) -> int:
        return sum(1 for r in self.results if r["status"] not in (WaferStatus.NOT_PROCESSED, WaferStatus.IN_PROCESS))

    def log_entry(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "wafers": list(self.wafers), "state": self.state,
                "recipe_hash": self.recipe_hash, "created_s": self.created_s, "started_s": self.started_s,
                "ended_s": self.ended_s, "start_count": self.start_count,
                "statuses": [r["status"] for r in self.results]}


class SimTool(JobTimeline, Consumables):
    """A kind subclass sets `spec` (its `drivers/<kind>/spec.py` SPEC): kind, recipe model, limits,
    alarms and faults come from there."""
    spec: ClassVar[KindSpec]
    kind: ClassVar[str]
    recipe_model: ClassVar[type[BaseModel]]
    limits: ClassVar[Mapping[str, Limit]]

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "spec" in cls.__dict__:
            cls.kind, cls.recipe_model, cls.limits = cls.spec.kind, cls.spec.recipe_model, cls.spec.limits

    def __init__(self, tool_id: str, clock: VirtualClock, world: WorldModel, seed: int = 0,
                 limits: dict[str, Limit] | None = None, options: dict[str, Any] | None = None) -> None:
        self.tool_id = tool_id
        self.clock = clock
        self.world = world
        self.rng = random.Random(f"{seed}:{tool_id}")
        self.noise_scale = 1.0        # 0: every tool hits its nominal numbers (the paper-vs-simulator test)
        self.tool_limits = dict(limits or self.limits)
        self.options = dict(options or {})
        self.drift = bool(self.options.get("drift", False))   # consumables age the process (off: ageless)
        self.faults = FaultBook(tool_id, self.spec.all_faults)
        self.jobs: dict[str, SimJob] = {}
        self.current: SimJob | None = None
        self.recipe_body: dict[str, Any] | None = None
        self.recipe_hash_value = ""
        self.alarm_rows: list[dict[str, Any]] = []

    # ---- state ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.current is not None and self.current.state not in FINAL_JOB_STATES

    @property
    def tool_state(self) -> str:
        if self.alarm_rows:
            return ToolState.ALARM
        job = self.current
        if job is None or job.state in FINAL_JOB_STATES:
            return ToolState.IDLE
        states: dict[str, ToolState] = {JobState.WAITING_FOR_START: ToolState.READY, JobState.PAUSED: ToolState.PAUSED}
        return states.get(job.state, ToolState.EXECUTING)

    def readings(self) -> dict[str, Any]:
        """Live values reported with every status (kinds add theirs)."""
        return {}

    @classmethod
    def typical_incoming(cls, world: WorldModel, wafer_id: str) -> None:
        """Make a wafer what this kind's step usually receives (a test of the kind alone, with no
        route before it, starts there); the default: a bare incoming wafer."""

    def _status(self, job: SimJob | None) -> tuple:
        if job is None:
            return ("", self.tool_state, JobState.NONE, "", 0, 0, 0, self.readings())
        return (job.job_id, self.tool_state, job.state, job.phase, job.wafer_index, job.wafers_done,
                len(job.wafers), self.readings())

    # ---- protocol handlers (names are the spec's `handler`s) -------------------------------
    def idn(self) -> tuple:
        return ("bumpline-sim", self.kind.upper(), self.tool_id, "1.0")

    def reset(self) -> None:
        if self.busy:
            raise SimError(DeviceError.BUSY, "Job running; abort first")
        self.recipe_body, self.recipe_hash_value = None, ""

    def system_state(self) -> tuple:
        return (self.tool_state,)

    def load_recipe(self, body: dict[str, Any]) -> None:
        if self.busy:
            raise SimError(DeviceError.BUSY, "Job running; recipe locked")
        try:
            recipe = self.recipe_model.model_validate(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise SimError(DeviceError.RECIPE_LIMIT, f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
        problems = check_limits(recipe.model_dump(mode="json"), self.tool_limits)
        if problems:
            path, rule = problems[0]
            raise SimError(DeviceError.RECIPE_LIMIT, f"{'.'.join(map(str, path))}: {rule}")
        self.recipe_body, self.recipe_hash_value = body, body_hash(body)

    def recipe_hash(self) -> tuple:
        return (self.recipe_hash_value,)

    def create_job(self, job_id: str, wafers: str) -> None:
        if job_id in self.jobs:
            raise SimError(DeviceError.JOB_EXISTS, f"Job {job_id} exists ({self.jobs[job_id].state})")
        if self.alarm_rows:
            raise SimError(DeviceError.ALARM_ACTIVE, "Alarm active; acknowledge first")
        if self.current is not None and self.busy:
            raise SimError(DeviceError.BUSY, f"Job {self.current.job_id} in progress")
        if self.recipe_body is None:
            raise SimError(DeviceError.NO_RECIPE, "No process program loaded")
        ids = [w for w in wafers.split(";") if w]
        if not ids or len(set(ids)) != len(ids):
            raise SimError(DeviceError.ILLEGAL_VALUE, "Wafer list empty or has duplicates")
        self.check_capacity(len(ids))
        job = SimJob(job_id, ids, self.recipe_body, self.recipe_hash_value, self.clock.now())
        job.results = [{"wafer_id": w, "slot": i, "status": WaferStatus.NOT_PROCESSED} for i, w in enumerate(ids, 1)]
        self.jobs[job_id] = job
        self.current = job

    def check_capacity(self, n_wafers: int) -> None:
        if n_wafers > 25:
            raise SimError(DeviceError.OUT_OF_RANGE, "At most 25 wafers per job")

    def start_job(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            raise SimError(DeviceError.UNKNOWN_JOB, f"Unknown job {job_id}")
        if job.state != JobState.WAITING_FOR_START:
            return  # already started or finished: starting again is a no-op, never a second run
        job.resume_event = asyncio.Event()
        job.task = asyncio.get_running_loop().create_task(self._run(job), name=f"{self.tool_id}:{job_id}")

    def pause_job(self) -> None:
        job = self.current
        if job is None or job.state not in (JobState.PROCESSING,):
            raise SimError(DeviceError.EXECUTION, "No processing job to pause")
        job.pause_requested = True
        job.state = JobState.PAUSING

    def resume_job(self) -> None:
        job = self.current
        if job is None or job.state not in (JobState.PAUSED, JobState.PAUSING):
            raise SimError(DeviceError.EXECUTION, "No paused job to resume")
        if self.alarm_rows:
            raise SimError(DeviceError.ALARM_ACTIVE, "Alarm active; acknowledge first")
        job.pause_requested = False
        job.state = JobState.PROCESSING
        if job.resume_event:
            job.resume_event.set()

    def abort_job(self) -> None:
        job = self.current
        if job is None or job.state in FINAL_JOB_STATES:
            return
        if job.task is None:
            job.state, job.ended_s = JobState.ABORTED, self.clock.now()
        else:
            job.task.cancel()

    def job_status(self) -> tuple:
        return self._status(self.current)

    def job_info(self, job_id: str) -> tuple:
        job = self.jobs.get(job_id)
        if job is None:
            return (job_id, self.tool_state, JobState.NONE, "", 0, 0, 0, self.readings())
        return self._status(job)

    def last_job(self) -> tuple:
        job = self.current
        return (job.job_id, job.state) if job else ("", JobState.NONE)

    def job_results(self, job_id: str) -> tuple:
        job = self.jobs.get(job_id)
        if job is None:
            raise SimError(DeviceError.UNKNOWN_JOB, f"Unknown job {job_id}")
        return ([dict(r) for r in job.results],)

    def alarm_list(self) -> tuple:
        return ([dict(a) for a in self.alarm_rows],)

    def alarm_clear(self) -> None:
        self.alarm_rows.clear()

    def job_log(self) -> list[dict[str, Any]]:
        return [j.log_entry() for j in self.jobs.values()]

    # ---- execution ---------------------------------------------------------------------------
    async def _run(self, job: SimJob) -> None:
        job.state, job.started_s = JobState.PROCESSING, self.clock.now()
        self.begin_timeline(job.started_s)   # this task's timeline (`now`, `sleep`)
        job.start_count += 1
        try:
            await self.process(job)
            if await self.stall_while_armed(job):
                self.resync()                 # held PROCESSING by a fault: it completes when released
            job.state = JobState.PROCESS_COMPLETE
        except asyncio.CancelledError:
            self.resync()                     # the host's abort: now, on the clock
            for row in job.results:
                if row["status"] == WaferStatus.IN_PROCESS:
                    row["status"] = WaferStatus.ABORTED
                    self._log_wafer(job, row)
            job.state = JobState.ABORTED
        except Exception as exc:
            log.exception("%s: job %s failed", self.tool_id, job.job_id)
            for row in job.results:
                if row["status"] == WaferStatus.IN_PROCESS:
                    row["status"] = WaferStatus.INCOMPLETE
                    self._log_wafer(job, row)
            self.raise_alarm(self.alarm("CONTROLLER_FAULT", f"{type(exc).__name__}: {exc}"), job)
            job.state = JobState.STOPPED
        finally:
            job.phase, job.ended_s = "", self.now()

    async def process(self, job: SimJob) -> None:
        """Single-wafer tools: prepare, each wafer in slot order, finish. Batch tools override."""
        await self.with_alarm_hold(job, lambda: self.before_wafers(job))
        for row in job.results:
            await self.checkpoint(job)
            job.wafer_index = row["slot"]
            row["status"], row["started_s"] = WaferStatus.IN_PROCESS, self.now()
            try:
                await self.process_wafer(job, row)
                row["status"] = WaferStatus.PROCESSED
            except AlarmStop as stop:
                row["status"] = WaferStatus.INCOMPLETE
                row["alarm"] = stop.name
                self._log_wafer(job, row)
                await self.hold_for_alarm(job, stop, row["wafer_id"])
                continue
            row["ended_s"] = self.now()
            self._log_wafer(job, row)
        job.wafer_index = 0
        await self.after_wafers(job)

    async def stall_while_armed(self, job: SimJob) -> bool:
        """Fault `stall`: the job stays PROCESSING, its wafers done, until the fault is cleared. The
        physics is over by then, so a stall of any length changes nothing on the wafers. True: it stalled."""
        stalled = False
        while (fault := self.faults.active("stall")) and job.job_id.startswith(
                tuple(fault.params["job"].split(","))):
            stalled = True
            await asyncio.sleep(0.01)
        return stalled

    async def before_wafers(self, job: SimJob) -> None:
        """E.g. pump the load lock down."""

    async def after_wafers(self, job: SimJob) -> None:
        """E.g. vent."""

    async def process_wafer(self, job: SimJob, row: dict[str, Any]) -> None:
        raise NotImplementedError

    async def with_alarm_hold(self, job: SimJob, step: Callable[[], Awaitable[None]]) -> None:
        """Run a step; on an alarm, hold until the host resumes (then retry) or aborts."""
        while True:
            try:
                await step()
                return
            except AlarmStop as stop:
                await self.hold_for_alarm(job, stop, "")

    async def hold_for_alarm(self, job: SimJob, stop: AlarmStop, wafer_id: str) -> None:
        self.raise_alarm(stop, job, wafer_id)
        await self.wait_for_resume(job)

    async def wait_for_resume(self, job: SimJob) -> None:
        """Park the job (E40 PAUSED) until the host resumes it; an abort cancels the wait."""
        job.state, job.phase = JobState.PAUSED, ""
        if job.resume_event is None:       # a job parks only once started, and starting makes its event
            job.resume_event = asyncio.Event()
        job.resume_event.clear()
        await job.resume_event.wait()
        self.resync()

    async def checkpoint(self, job: SimJob) -> None:
        """Between wafers: honour a pause request (material parked safely)."""
        if job.pause_requested:
            await self.wait_for_resume(job)

    async def phase(self, job: SimJob, name: str, sim_seconds: float) -> None:
        job.phase = name
        await self.sleep(sim_seconds)

    def raise_alarm(self, stop: AlarmStop, job: SimJob | None, wafer_id: str = "") -> None:
        slot = job.wafers.index(wafer_id) + 1 if job and wafer_id in job.wafers else 0
        self.alarm_rows.append({"alid": stop.alid, "name": stop.name, "text": stop.text,
                                "job_id": job.job_id if job else "", "wafer_id": wafer_id, "slot": slot,
                                "at_s": round(self.clock.now(), 3)})

    def _log_wafer(self, job: SimJob, row: dict[str, Any]) -> None:
        self.world.log(row["wafer_id"], tool=self.tool_id, kind=self.kind, job=job.job_id,
                       status=row["status"], at_s=round(self.now(), 3))

    def alarm(self, name: str, detail: str) -> AlarmStop:
        """The stop for a declared alarm (raise it), with what happened this time as its text."""
        declared = self.spec.alarm(name)
        return AlarmStop(declared.alid, declared.name, detail)

    def noise(self, sigma_rel: float) -> float:
        """A multiplicative noise factor ~ N(1, sigma × noise_scale)."""
        return 1.0 + self.rng.gauss(0.0, sigma_rel * self.noise_scale)


class BatchSimTool(SimTool):
    """A tool that processes the whole cassette at once (wet bench, oven)."""

    capacity: ClassVar[int] = 25

    def check_capacity(self, n_wafers: int) -> None:
        cap = int(self.options.get("capacity", self.capacity))
        if n_wafers > cap:
            raise SimError(DeviceError.OUT_OF_RANGE, f"At most {cap} wafers per batch")

    async def process(self, job: SimJob) -> None:
        self.batch_started = False
        for row in job.results:
            row["status"], row["started_s"] = WaferStatus.IN_PROCESS, self.now()
        try:
            await self.process_batch(job)
        except AlarmStop as stop:
            for row in job.results:
                row["status"] = WaferStatus.INCOMPLETE if self.batch_started else WaferStatus.NOT_PROCESSED
                row["alarm"] = stop.name
                if self.batch_started:
                    self._log_wafer(job, row)
            await self.hold_for_alarm(job, stop, "")
            return
        for row in job.results:
            row["status"], row["ended_s"] = WaferStatus.PROCESSED, self.now()
            self._log_wafer(job, row)

    async def process_batch(self, job: SimJob) -> None:
        raise NotImplementedError
