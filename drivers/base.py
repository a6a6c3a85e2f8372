"""`ToolDriver`: the front end every tool kind shares.

A kind subclass names its `spec` (`drivers/<kind>/spec.py`: phases, guarded phases, recipe model,
limits, measurements) and adds what a process engineer's recipe means on that kind: its interlock
guards and kind-specific reads. Below it sits a backend — a vendor's (SCPI, Modbus) chosen from the
line config, the in-process simulator, or a recording mock — all speaking the kind's abstract
backend API. Timeouts, reconnects, alarm reading and interlock checks live here; what to do about
an alarm (hold the lot, retry) belongs to `line`.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from functools import partial
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from drivers.backend import JobBackend
from drivers.errors import (
    BumplineError,
    CommandRejected,
    CommunicationLost,
    InterlockViolation,
    InvalidTransition,
    JobConflict,
    OutOfRange,
    ToolAlarm,
    ToolError,
)
from drivers.jobs import Alarm, Identity, JobStatus, Measurement, SiteReading, WaferResult, body_hash
from drivers.limits import Limit, check_limits
from drivers.spec import KindSpec
from drivers.states import Mirror, ProcessingModel, StateChange
from drivers.vendors import vendor_for
from drivers.vocabulary import JobState, ToolState, WaferStatus

Observer = Callable[[StateChange], None]


class _NoPaperModel:
    """A kind that declares no paper model: no recipe rules, no effects the linter could follow."""

    def effects(self, recipe: BaseModel) -> list[Any]:
        return []

    def checks(self, recipe: BaseModel) -> list[Any]:
        return []


NO_PAPER_MODEL = _NoPaperModel()


class ToolDriver:
    spec: ClassVar[KindSpec]
    kind: ClassVar[str]
    phases: ClassVar[tuple[str, ...]]
    guarded_phases: ClassVar[tuple[str, ...]] = ()
    recipe_model: ClassVar[type[BaseModel]]
    limits: ClassVar[Mapping[str, Limit]]

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "spec" in cls.__dict__:    # the kind's declaration is the one source of these
            s = cls.spec
            cls.kind, cls.phases, cls.guarded_phases = s.kind, s.phases, s.guarded_phases
            cls.recipe_model, cls.limits = s.recipe_model, s.limits

    @classmethod
    def paper_model(cls) -> Any:
        """The kind's nominal process model (`drivers/<kind>/model.py`: `effects(recipe)` and
        `checks(recipe)`), for the route linter; a kind without one has `NO_PAPER_MODEL`."""
        import importlib

        name = f"{cls.__module__.rsplit('.', 1)[0]}.model"
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            return NO_PAPER_MODEL

    def __init__(self, tool_id: str, address: str = "", *, backend: JobBackend | None = None,
                 vendor: str = "", endpoints: Mapping[str, str] | None = None,
                 limits: Mapping[str, Limit] | None = None, timeout_s: float = 3.0, comm_budget_s: float = 30.0) -> None:
        """`backend`: one already built (the in-process simulator, a mock); else the vendor backend
        for `address` (the kind's one speaking its protocol, or the one `vendor` names)."""
        self.tool_id = tool_id
        self.address = address
        self.endpoints = dict(endpoints or {})
        self.tool_limits = dict(limits or self.limits)
        self.comm_budget_s = comm_budget_s
        if backend is None:
            backend = vendor_for(self.kind, address, vendor).make(tool_id, address, self.endpoints, timeout_s)
        self.backend: JobBackend = backend
        self.job_id = ""
        self.recipe: BaseModel | None = None
        self.last_status: JobStatus | None = None
        self.identity: Identity | None = None
        self._observers: list[Observer] = []
        self.state_log: list[StateChange] = []
        self.guarded_seen = 0
        """guarded-phase entries the mirror has followed (each one's guard asked)"""
        self.guarded_seen_at = 0.0
        """when the last was followed (time.monotonic)"""
        self.model = ProcessingModel(tool_id, self._guards(), self._changed, self.phases, self.guarded_phases)

    # ---- what a kind provides -----------------------------------------------------------
    def guard(self, phase: str) -> bool:
        """Interlock for entering a guarded phase; kinds override."""
        return True

    def wafer_result(self, row: dict[str, Any]) -> WaferResult:
        """A result row as the tool reports it, with the measurements the kind's spec declares."""
        return WaferResult(row["wafer_id"], row["slot"], row["status"], tuple(self.measurements(row)), row,
                           tuple(self.site_readings(row)))

    def site_readings(self, row: dict[str, Any]) -> list[SiteReading]:
        """The per-site values of a wafer map, where the kind measures at sites (metrology); none here."""
        return []

    def measurements(self, row: dict[str, Any]) -> list[Measurement]:
        """Every declared measurement the row carries a value for (its target too, where declared);
        kinds whose rows nest (a layer stack) add theirs."""
        out = []
        for m in self.spec.measurements:
            if m.field and row.get(m.field) is not None:
                out.append(Measurement(m.name, row[m.field], m.unit, row.get(m.target_field) if m.target_field else None))
        return out

    # ---- observation ------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self.model.state

    def subscribe(self, observer: Observer) -> None:
        self._observers.append(observer)

    def _changed(self, change: StateChange) -> None:
        self.state_log.append(change)
        if change.dest != change.source and change.dest.removeprefix(f"{Mirror.EXECUTING}_") in self.guarded_phases:
            self.guarded_seen += 1
            self.guarded_seen_at = time.monotonic()
        for obs in self._observers:
            obs(change)

    def _guards(self) -> dict[str, Callable[[], bool]]:
        return {f"EXECUTING_{p}": partial(self.guard, p) for p in self.guarded_phases}

    def _fire(self, trigger: str) -> bool:
        if not self.model.may(trigger):
            raise InvalidTransition(self.tool_id, f"cannot {trigger} in state {self.state}")
        return self.model.fire(trigger)

    # ---- lifecycle ----------------------------------------------------------------------
    def connect(self) -> Identity:
        """Open the session, identify, and follow whatever the tool is doing right now."""
        self.backend.open()
        self.identity = self.backend.identify()
        if self.state == Mirror.OFFLINE:
            self.model.fire("connect")
        return self.identity

    def close(self) -> None:
        self.backend.close()
        if self.state != Mirror.OFFLINE:
            self.model.fire("disconnect")

    def __enter__(self) -> ToolDriver:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def validate(self, parameters: BaseModel | dict[str, Any]) -> BaseModel:
        """Type-check a recipe and apply this tool's limits before anything is sent."""
        try:
            recipe = parameters if isinstance(parameters, BaseModel) else self.recipe_model.model_validate(parameters)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise OutOfRange(self.tool_id, ".".join(map(str, err["loc"])), err.get("input"), err["msg"]) from exc
        problems = check_limits(recipe.model_dump(mode="json"), self.tool_limits)
        if problems:
            path, rule = problems[0]
            raise OutOfRange(self.tool_id, ".".join(map(str, path)), None, f"{rule} (limit of {self.tool_id})")
        return recipe

    def setup(self, job_id: str, wafers: list[str], parameters: BaseModel | dict[str, Any],
              expected_hash: str | None = None) -> str:
        """Load the process program and create the job; returns the checksum the tool reports.

        `expected_hash` is the recipe's identity (SHA-256 of its canonical body): a body that no
        longer hashes to it is refused before anything is sent; the backend then checks that the
        tool holds exactly what was sent.
        """
        recipe = self.validate(parameters)
        body = recipe.model_dump(mode="json")
        if expected_hash and body_hash(body) != expected_hash:
            raise ToolError(self.tool_id, f"recipe body hashes to {body_hash(body)[:12]}, not the approved "
                                          f"{expected_hash[:12]}: refused")
        known = self.backend.info(job_id)
        if known.known:
            # The tool has (or had) this job: never load over it. A PLC refuses a recipe while its job
            # runs (busy), before it could say the job exists — ask first, on every kind of tool.
            raise JobConflict(self.tool_id, job_id, known.job_state)
        self._fire("setup")
        try:
            tool_hash = self.backend.load_recipe(body)
            self.backend.create_job(job_id, wafers)
        except Exception:
            self.model.fire("setup_failed")
            raise
        self.job_id = self.model.job_id = job_id
        self.recipe = recipe
        self.model.fire("setup_done")
        return tool_hash

    def start(self) -> None:
        if not self.model.may("start"):
            raise InvalidTransition(self.tool_id, f"cannot start in state {self.state}")
        self.last_status = self.backend.info(self.job_id)
        self.backend.start(self.job_id)
        self.poll()

    def pause(self) -> None:
        self.backend.pause()

    def resume(self) -> None:
        if self.state != Mirror.PAUSED:
            raise InvalidTransition(self.tool_id, f"cannot resume in state {self.state}")
        self.backend.resume()
        self.poll()

    def abort(self) -> None:
        """Abort the job on the tool; the wafer in work is reported ABORTED."""
        self.backend.abort()
        self.poll()

    def maintain(self, action: str, item: str = "") -> None:
        """Tell the tool a technician did `action` (to `item`) so its consumable counter restarts; an
        action the kind does not declare, or a missing item, is refused before anything is sent."""
        item = self.spec.maintenance_action(action).check(item)
        self.backend.maintain(action, item)

    def acknowledge_alarms(self) -> None:
        self.backend.clear_alarms()
        if self.state == Mirror.ALARM:
            self.model.fire("clear")

    def reattach(self, job_id: str) -> JobStatus:
        """After a host crash: find the job on the tool and follow its state from there."""
        if self.state == Mirror.OFFLINE:
            self.connect()
        status = self.backend.info(job_id)
        if not status.known:
            raise ToolError(self.tool_id, f"tool does not know job {job_id}")
        self.job_id = self.model.job_id = job_id
        self._follow(status)
        return status

    # ---- progress -----------------------------------------------------------------------
    def poll(self) -> JobStatus:
        status = self.backend.info(self.job_id)
        self._follow(status)
        return status

    def wait(self, poll_s: float = 0.05, on_status: Callable[[JobStatus], None] | None = None,
             timeout_s: float | None = None, next_poll: Callable[[float], float] | None = None,
             together: Callable[[], AbstractContextManager[Any]] = nullcontext) -> JobStatus:
        """Poll until the job ends; a tool alarm raises `ToolAlarm`, an interlock `InterlockViolation`.

        A connection that drops is retried by the transport; only when the tool stays silent past
        `comm_budget_s` does `CommunicationLost` reach the caller (the job runs on regardless).
        `next_poll(elapsed_s)` paces the polls (the caller's expectation of the job's length; default
        every `poll_s`). Time spent in `on_status` (the ledger's bookkeeping) comes out of the wait,
        not on top of it. What one reply tells — the mirror's state changes and `on_status` — runs
        inside one `together()` block (one ledger transaction), after the reply is in: never
        around the I/O.
        """
        started = time.monotonic()
        deadline = None if timeout_s is None else started + timeout_s
        silent_since: float | None = None
        next_at = started
        while True:
            try:
                status = self.backend.info(self.job_id)
                silent_since = None
            except CommunicationLost:
                silent_since = silent_since or time.monotonic()
                if time.monotonic() - silent_since > self.comm_budget_s:
                    raise
                time.sleep(poll_s)
                continue
            self._take(status, on_status, together)
            if status.tool_state == ToolState.ALARM and not status.is_final:
                raise self._alarm_error()
            if status.is_final:
                return status
            if deadline and time.monotonic() > deadline:
                raise ToolError(self.tool_id, f"job {self.job_id} still {status.job_state} after {timeout_s} s")
            now = time.monotonic()
            step = next_poll(now - started) if next_poll else poll_s
            next_at = max(next_at + step, now)       # an overrun polls once at once, never in a burst
            time.sleep(next_at - now)

    def _take(self, status: JobStatus, on_status: Callable[[JobStatus], None] | None,
              together: Callable[[], AbstractContextManager[Any]]) -> None:
        """Follow one reply and hand it on, as one block; a refusal raised by following it (an
        interlock) leaves the block first, so what was recorded up to it is kept."""
        refused: BumplineError | None = None
        if self.last_status is not None and self.last_status.moment == status.moment and self.state != Mirror.OFFLINE:
            # the same moment again: the report rules are idempotent (a report puts the mirror where the
            # status says), so the mirror cannot move and no record changes — no trigger, no transaction
            self.last_status = status         # its readings are the latest
            if on_status:
                on_status(status)
            return
        with together():
            try:
                self._follow(status)
                if on_status:
                    on_status(status)
            except BumplineError as exc:
                refused = exc
        if refused is not None:
            raise refused

    def results(self) -> list[WaferResult]:
        """Per-wafer results. A wafer the tool never processed has no measurements, whatever
        defaults its result row carries (a PLC's zeroed registers, a counter's initial 0)."""
        out = []
        for row in self.backend.results(self.job_id):
            result = self.wafer_result(row)
            if result.status == WaferStatus.NOT_PROCESSED and result.measurements:
                result = replace(result, measurements=())
            out.append(result)
        return out

    def alarms(self) -> list[Alarm]:
        return self.backend.alarms()

    def _alarm_error(self) -> ToolAlarm:
        alarms = [a for a in self.backend.alarms() if a.job_id in ("", self.job_id)] or self.backend.alarms()
        if not alarms:
            return ToolAlarm(self.tool_id, 0, "UNKNOWN", "tool in ALARM with no alarm listed", self.job_id)
        a = alarms[0]
        return ToolAlarm(self.tool_id, a.alid, a.name, a.text, self.job_id)

    def _follow(self, status: JobStatus) -> None:
        """Move the mirror machine to what the tool reports (the machine's `report` rules decide
        where); a guarded phase the tool entered while its guard says no trips the interlock."""
        self.last_status = status
        if self.state == Mirror.OFFLINE:
            self.model.fire("connect")
        if not self.model.fire("report", status=status) and self._entered_refused_phase(status):
            self._interlock_tripped(status)

    def _entered_refused_phase(self, status: JobStatus) -> bool:
        return (status.job_state in (JobState.PROCESSING, JobState.PAUSING) and status.phase in self.guarded_phases
                and self.state != f"{Mirror.EXECUTING}_{status.phase}")

    def _interlock_tripped(self, status: JobStatus) -> None:
        try:
            self.backend.abort()
        except (CommandRejected, CommunicationLost):
            pass
        raise InterlockViolation(self.tool_id, f"{status.phase.lower()}-guard", self.interlock_detail(status))

    def interlock_detail(self, status: JobStatus) -> str:
        return f"tool entered {status.phase} with readings {status.readings}; job aborted"


