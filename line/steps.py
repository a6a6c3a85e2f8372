"""One route step on one tool: claim it, set up the job, run it, record everything, decide.

Plain Python (no Prefect) so it can be tested alone; `line.lot_flow` wraps it in a task. The policy
lives here, not in the driver: an alarm or interlock puts the lot on hold with the alarm recorded —
never a silent retry. A job id the tool already knows is reattached, never started twice.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

from drivers.base import ToolDriver
from drivers.errors import CommunicationLost, InterlockViolation, JobConflict, ToolAlarm, ToolError
from drivers.jobs import JobStatus, WaferResult, body_hash
from drivers.registry import driver_class
from drivers.vocabulary import JobState, WaferStatus
from line import pacing
from line.config import ToolConfig
from line.leases import tool_lease
from line.ledger import Ledger
from line.recipes.identity import NotApproved, VersionChanged, ensure_runnable
from line.recipes.tool_recipe import ToolRecipe
from line.recorder import (
    AlarmRaised,
    JobProgressed,
    JobReattached,
    Measured,
    Recorder,
    SpcSignalled,
    StartSent,
    StateChanged,
    StepContext,
    StepEnded,
    WafersMoved,
)
from line.spc.control import judge
from line.spec_limits import judged, spec_problems

log = logging.getLogger(__name__)


class InterruptedStep(ToolError):
    """A step a dead orchestrator had begun on a tool that does not know its job."""


@dataclass(repr=False)
class StepOutcome:
    lot_id: str
    step_id: str
    step_run_id: int
    tool_id: str
    job_id: str
    recipe: str
    recipe_hash: str
    status: str  # COMPLETE | ON_HOLD
    hold_type: str = ""
    hold_reason: str = ""
    wafer_status: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __repr__(self) -> str:       # Prefect logs a held step's state with its data: one line, not every field
        return f"StepOutcome({self.headline!r})"

    @property
    def headline(self) -> str:
        counts: dict[str, int] = {}
        for s in self.wafer_status.values():
            counts[s] = counts.get(s, 0) + 1
        tally = ", ".join(f"{n} {s.lower().replace('_', ' ')}" for s, n in sorted(counts.items()))
        if self.status == "COMPLETE":
            return f"{self.lot_id} {self.step_id} complete on {self.tool_id}: {tally}"
        return f"{self.lot_id} ON HOLD at {self.step_id} on {self.tool_id} — {self.hold_type}: {self.hold_reason} ({tally})"


def job_id_for(lot_id: str, step_id: str, rework: int) -> str:
    return f"{lot_id}.{step_id}.r{rework}"


def batch_job_id(own: str, riders: int) -> str:
    """A batch job is named by its leader's step and how many other lots ride in it."""
    return f"{own}+{riders}" if riders else own


@dataclass(frozen=True)
class Rider:
    """Another lot's share of a batch job (`line.batching`): its wafers ride in the leader's job on
    the tool, and its step is begun, recorded, judged, held and ended on its own — as if alone."""
    lot_id: str
    step_id: str
    wafers: tuple[str, ...]
    rework: int = 0
    flow_run_id: str = ""
    specs: tuple[Any, ...] = ()
    tolerance_pct: float = 10.0
    operation: str = ""


@dataclass
class _Share:
    """One lot's part of the job this step runs (the step's own lot first)."""
    lot_id: str
    step_id: str
    wafers: tuple[str, ...]
    specs: list | None
    tolerance_pct: float
    run: Any
    record: Recorder


@dataclass(frozen=True)
class Leased:
    """The tool is held for the step by its caller (the dispatcher's claim), not by the step itself.
    `let_go` gives it back once the job has told all it will, before the step's records are written;
    None keeps it until the caller's block ends (a run-to-run step: the tool's next lot is tuned from
    this one's feedback, written after the step)."""
    let_go: Callable[[], None] | None = None


DriverFactory = Callable[[ToolConfig], ToolDriver]
"""Builds the driver for a tool of the line: its vendor backend (the default), the in-process
simulator, or a recording mock — the step does not know which."""


def vendor_driver(tool: ToolConfig) -> ToolDriver:
    """The kind's front end over the vendor backend the line config names for this tool."""
    return driver_class(tool.kind)(tool.id, tool.address, vendor=tool.vendor, endpoints=tool.endpoints,
                                   limits=tool.effective_limits(), comm_budget_s=tool.comm_budget_s)


class ToolStep:
    """Runs one step; every transition and result goes, as a typed event, to the step's recorder.

    Building one does nothing: `execute()` begins the step in the ledger, runs the job through the
    driver the factory makes, and ends it with a `StepOutcome`."""

    def __init__(self, ledger: Ledger, tool: ToolConfig, recipe: ToolRecipe, lot_id: str, step_id: str,
                 wafers: list[str], rework: int = 0, flow_run_id: str = "", tolerance_pct: float = 10.0,
                 lease_ttl_s: float = 120.0, parameters: Any = None, specs: list | None = None,
                 leased: Leased | None = None, operation: str = "", driver_factory: DriverFactory = vendor_driver,
                 clock_speed: float = 1.0, begun: bool | None = None, riders: tuple[Rider, ...] = ()) -> None:
        """`recipe` is the approved identity; `parameters` the body actually sent (a route step's
        overrides applied), `specs` the route's LSL/USL; `leased`: the caller holds the tool (None: the
        step takes its own lease);
        `riders`: other lots of the same recipe whose wafers share this step's job (a batch tool)."""
        self.ledger, self.tool, self.recipe = ledger, tool, recipe
        self.driver_factory = driver_factory
        self.parameters = parameters if parameters is not None else recipe.parameters
        self.sent_hash = body_hash(self.parameters.model_dump(mode="json"))
        self.specs, self.leased = specs, leased
        self.lot_id, self.step_id, self.wafers, self.rework = lot_id, step_id, wafers, rework
        self.own_job_id = job_id_for(lot_id, step_id, rework)
        self.riders = riders
        self.job_id = batch_job_id(self.own_job_id, len(riders))   # a resumed step: the job it was begun with
        self.tolerance_pct = tolerance_pct
        self.lease_ttl_s = lease_ttl_s
        self.flow_run_id, self.operation = flow_run_id, operation or recipe.tool_kind
        self.clock_speed = clock_speed          # tool seconds per wall second: 1 on a real line
        self.begun = begun                      # an earlier orchestrator began it (None: look it up)
        self._last: JobStatus | None = None
        self._expected_s: float | None = None   # wall seconds the job should run from START (None: not started here)
        self._guard_entries: list[float] | None = None   # when it should enter each guarded phase, wall s from START
        self._started_at: float | None = None   # time.monotonic() when START was sent here

    def execute(self) -> StepOutcome:
        ledger = self.ledger
        self.resumed = self.begun if self.begun is not None else \
            ledger.find_step(self.lot_id, self.step_id, self.rework) is not None   # an earlier orchestrator began it
        try:
            ensure_runnable(ledger, "ToolRecipe", self.recipe.name, self.recipe.version, self.recipe.sha256,
                            self.recipe.path)
            refused = None
        except (VersionChanged, NotApproved) as exc:
            refused = str(exc)
        with ledger.together():     # every lot of a batch job begins at once, with its job (QUEUED): one commit
            self.run = self._begin(self.lot_id, self.step_id, self.rework, self.operation, self.flow_run_id)
            rider_runs = [self._begin(r.lot_id, r.step_id, r.rework, r.operation or self.operation, r.flow_run_id)
                          for r in self.riders]
            self.job_id = self.run.job_id
            self.record = Recorder(ledger, StepContext(
                self.lot_id, self.step_id, self.run.id, self.tool.id, self.tool.kind, self.job_id, tuple(self.wafers),
                tuple((run.id, r.wafers) for r, run in zip(self.riders, rider_runs, strict=True))))
            self.shares = [_Share(self.lot_id, self.step_id, tuple(self.wafers), self.specs, self.tolerance_pct,
                                  self.run, self.record)]
            self.shares += [_Share(r.lot_id, r.step_id, r.wafers, list(r.specs) or None, r.tolerance_pct, run,
                                   Recorder(ledger, StepContext(r.lot_id, r.step_id, run.id, self.tool.id,
                                                                self.tool.kind, self.job_id, r.wafers)))
                            for r, run in zip(self.riders, rider_runs, strict=True)]
            if refused is None:
                self.record.open_job()
        if refused is not None:
            return self._finish(None, ("RECIPE", refused))   # refused before anything reaches the tool
        driver = self.driver_factory(self.tool)
        driver.subscribe(lambda change: self.record(StateChanged(change)))
        lease = nullcontext() if self.leased is not None else tool_lease(ledger, self.tool.id, holder=self.job_id,
                                                             ttl_s=self.lease_ttl_s)
        with lease as own:
            try:
                driver.connect()
                self._setup_or_reattach(driver)
                self._wait(driver)
                hold = self._check(driver)
            except ToolAlarm as alarm:
                hold = self._on_alarm(driver, alarm)
            except InterlockViolation as exc:
                hold = ("INTERLOCK", exc.message)
            except CommunicationLost as exc:
                hold = ("COMMUNICATION", f"{exc.message}; the job may still be running on the tool — resume reattaches")
            except InterruptedStep as exc:
                hold = ("INTERRUPTED", exc.message + " — decide: continue, rework or scrap")
            except ToolError as exc:
                hold = ("TOOL_ERROR", exc.message)
            finally:
                results = self._collect(driver)
                driver.close()
            let_go = self.leased.let_go if self.leased is not None else own.let_go if own is not None else None
            if hold is None and results is not None and let_go is not None and driver.backend.remembers_jobs:
                # The job ended well and the tool has told all it will: the next lot need not wait
                # for this one's records. A crash before they are written loses nothing — the tool
                # remembers the job by its id, and the resumed step reads its results there again.
                # Otherwise the tool is kept until the records are written: after an alarm or an
                # interrupted job (the hold is recorded first), and on a PLC, which forgets a job
                # when it takes the next.
                try:
                    let_go()
                except Exception as exc:  # noqa: BLE001 - the records come first; the block's end releases it
                    log.warning("%s not let go before the records of %s (released at the step's end): %s",
                                self.tool.id, self.job_id, exc)
            return self._finish(results, hold)

    def _begin(self, lot_id: str, step_id: str, rework: int, operation: str, flow_run_id: str) -> Any:
        return self.ledger.begin_step(lot_id, step_id, self.recipe.tool_kind, self.tool.id, self.recipe.name,
                                      self.recipe.version, self.sent_hash, self.job_id, rework,
                                      operation=operation, flow_run_id=flow_run_id)

    @property
    def job_wafers(self) -> list[str]:
        """Every wafer the job carries: this lot's, then each rider's."""
        return [*self.wafers, *(w for r in self.riders for w in r.wafers)]

    def _run_alone(self) -> None:
        """Begun in a batch job that never reached the tool: this lot runs as its own job (the
        batch's other lots, resumed, do the same — none waits for a job that will not come)."""
        self.ledger.rebind_job(self.run.id, self.own_job_id)
        self.job_id = self.own_job_id
        self.record = Recorder(self.ledger, StepContext(self.lot_id, self.step_id, self.run.id, self.tool.id,
                                                        self.tool.kind, self.job_id, tuple(self.wafers)))
        self.shares[0].record = self.record
        self.record.open_job()

    def _setup_or_reattach(self, driver: ToolDriver) -> None:
        if self.resumed and not driver.backend.info(self.job_id).known:
            # Begun before a crash, unknown to the tool: wafers may be part-processed. Never repeat blindly.
            reported = [e for e in self.ledger.events("job", self.job_id)
                         if e.dest not in ("", "QUEUED") or e.trigger == "start-sent"]
            if reported:   # the start went out (or the tool reported the job): it may have run there
                raise InterruptedStep(self.tool.id, f"step {self.step_id} was started as job {self.job_id} before the "
                                                    f"orchestrator stopped, and {self.tool.id} has no record of it")
            if self.job_id != self.own_job_id and not self.riders:
                self._run_alone()
        try:
            driver.setup(self.job_id, self.job_wafers, self.parameters, expected_hash=self.sent_hash)
        except JobConflict as conflict:
            # The tool ran (or runs) this job already: follow it, never start it again.
            self.record(JobReattached(conflict.state))
            status = driver.reattach(self.job_id)
            if status.job_state == JobState.WAITING_FOR_START:
                driver.start()
            return
        body, n = self.parameters.model_dump(mode="json"), len(self.job_wafers)
        self._expected_s = pacing.expected_wall_s(self.tool.id, driver.spec.job_time_s, body, n, self.tool.options,
                                                  self.clock_speed)
        if driver.guarded_phases:     # watched closely around each guarded-phase entry, paced between
            self._guard_entries = pacing.guard_entries_wall(
                pacing.model_says(driver.spec.guard_entries_s, body, n, self.tool.options),
                pacing.model_says(driver.spec.job_time_s, body, n, self.tool.options), self._expected_s)
            if self._guard_entries is None:
                self._expected_s = None       # entries unknown: the fastest rate throughout, as ever
        with self.ledger.together():              # write-ahead: committed before the command can act
            for share in self.shares:
                share.record(WafersMoved(share.wafers, self.tool.id, "load"))
            self.record(StartSent(self._expected_s))
        self._started_at = time.monotonic()
        driver.start()

    def _wait(self, driver: ToolDriver) -> None:
        """Poll to the job's end, paced by how long it should take; each reply's records in one
        transaction. At the fastest rate throughout: a reattached job (its start is unknown here).
        A tool with host-side interlocks is watched at the fastest rate around each expected
        guarded-phase entry (`pacing.guard_watch_in`): the guard reads the readings of the poll
        that first sees the phase."""
        expected, entries = self._expected_s, self._guard_entries
        # elapsed from START itself: whatever the host did after sending it is part of the job's time
        started = self._started_at if self._started_at is not None else time.monotonic()

        def next_poll(elapsed_s: float) -> float:
            # fast until the job is seen running a phase (the mirror's EXECUTING: E10 PRODUCTIVE), then paced
            running = self._last is not None and self._last.job_state == JobState.PROCESSING and bool(self._last.phase)
            wait = pacing.next_poll_in(elapsed_s, expected if running else None)
            if entries is not None:
                watch = pacing.guard_watch_in(elapsed_s, entries, driver.guarded_seen,
                                              driver.guarded_seen_at - started)
                if watch is not None:
                    wait = min(wait, max(pacing.MIN_POLL_S, watch))
            return wait

        status = driver.wait(on_status=self._progress, together=self.ledger.together,
                             next_poll=None if expected is None else next_poll)
        if expected is not None and status.job_state == JobState.PROCESS_COMPLETE:
            pacing.learn(self.tool.id, expected, time.monotonic() - started)

    def _progress(self, status: JobStatus) -> None:
        last = self._last
        if last and last.moment == status.moment:
            return
        self.record(JobProgressed(status, last))
        self._last = status

    def _on_alarm(self, driver: ToolDriver, alarm: ToolAlarm) -> tuple[str, str]:
        for row in driver.alarms():
            self.record(AlarmRaised(row))
        try:
            driver.abort()  # the tool parks and returns the wafers; the alarm stays for an engineer
        except ToolError:
            pass
        wafer = next((a.wafer_id for a in driver.alarms() if a.alid == alarm.alid and a.wafer_id), "")
        where = f", wafer {wafer}" if wafer and wafer not in alarm.text else ""
        return "ALARM", f"{self.tool.id} alarm {alarm.alid} {alarm.name}{where}: {alarm.text}"

    def _check(self, driver: ToolDriver) -> tuple[str, str] | None:
        status = driver.last_status
        if status and status.job_state != JobState.PROCESS_COMPLETE:
            return "INTERRUPTED", f"job {self.job_id} ended {status.job_state} on the tool"
        return None

    @staticmethod
    def _collect(driver: ToolDriver) -> list[WaferResult] | None:
        """What the tool reports for each wafer (None: it could not say — recorded as nothing)."""
        try:
            return driver.results()
        except ToolError:
            return None

    def _finish(self, results: list[WaferResult] | None, hold: tuple[str, str] | None) -> StepOutcome:
        """The step's end in one transaction: its results, the SPC judgement of them, the wafers
        unloaded, the step finished and (maybe) held — after a crash, all of it or none (the tool
        still holds the results, so a resume reads them again)."""
        with self.ledger.together():
            self.outcomes = [self._decide(share, None if results is None else
                                          [r for r in results if r.wafer_id in share.wafers], hold)
                             for share in self.shares]
        return self.outcomes[0]

    def _decide(self, share: _Share, results: list[WaferResult] | None, hold: tuple[str, str] | None) -> StepOutcome:
        """One lot's end of the job: its own wafers' results, judged against its own specs, held on its own."""
        if results is not None:
            share.record(Measured(tuple(results), judged(results, share.tolerance_pct, share.specs)))
        results = results or []
        if hold is None:
            seen = {r.wafer_id for r in results}
            if missing := [w for w in share.wafers if w not in seen]:
                hold = ("INCOMPLETE", f"{self.tool.id} reported no result for wafers: {', '.join(missing)}")
            elif not_done := [r.wafer_id for r in results if r.status != WaferStatus.PROCESSED]:
                hold = ("INCOMPLETE", f"wafers not processed: {', '.join(not_done)}")
            elif problems := spec_problems(results, share.tolerance_pct, share.specs):
                hold = ("OUT_OF_SPEC", "; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""))
        if results and share.specs:
            findings = judge(self.ledger, share.step_id, self.tool.id, share.lot_id, share.run.id, share.specs)
            if findings:
                share.record(SpcSignalled(tuple(findings)))
            if hold is None and (held := [f for f in findings if f.action == "hold"]):
                hold = ("SPC", "; ".join(f.text for f in held))
        status = "COMPLETE" if hold is None else "ON_HOLD"
        outcome = StepOutcome(share.lot_id, share.step_id, share.run.id, self.tool.id, self.job_id, self.recipe.ref,
                              self.sent_hash, status, *(hold or ("", "")),
                              wafer_status={r.wafer_id: r.status for r in results})
        share.record(StepEnded(outcome, unloaded=bool(results)))
        return outcome

