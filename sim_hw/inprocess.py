"""The in-process tier: a driver's backend that calls the simulator's handlers directly, on its
event loop, with no socket in between — the simulator's physics, jobs, alarms and faults, minus the
wire. Fast enough for policy and flow tests, and the same contract as the real-protocol tier (the
contract suite runs both). Kinds with reads beyond the job protocol add them in
`sim_hw/<kind>/inprocess.py` (`BACKEND = <subclass>`). Only tests and the CLI build this tier.
"""
from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Any

from drivers.errors import CommandRejected, CommunicationLost, JobConflict, ToolError
from drivers.jobs import Alarm, Identity, JobStatus, body_hash
from drivers.vocabulary import DeviceError
from sim_hw.line import SimLine
from sim_hw.tool import SimError, SimTool

CALL_TIMEOUT_S = 10.0


class InProcessBackend:
    """The shared job API (`drivers.backend.JobBackend`) over a `SimTool` in a running `SimLine`."""

    remembers_jobs = True       # the simulated tool keeps every job it ran

    def __init__(self, line: SimLine, tool_id: str) -> None:
        self.line, self.tool_id = line, tool_id
        self.tool: SimTool = line.tool(tool_id)
        self.opened = False

    def call(self, fn: Callable[..., Any], *args: Any, name: str = "") -> Any:
        """Run a handler on the simulator's loop (its only thread) and return its answer; a refusal
        becomes `CommandRejected`, as the tool's error queue would say it."""
        async def run() -> Any:
            return fn(*args)
        if self.line.loop is None:
            raise CommunicationLost(self.tool_id, "the in-process simulator is not running")
        future = asyncio.run_coroutine_threadsafe(run(), self.line.loop)
        try:
            return future.result(CALL_TIMEOUT_S)
        except SimError as exc:
            raise CommandRejected(self.tool_id, name or getattr(fn, "__name__", "?"), int(exc.code), exc.text) from None
        except TimeoutError:
            future.cancel()
            raise CommunicationLost(self.tool_id, f"in-process simulator did not answer in {CALL_TIMEOUT_S:g} s") from None

    # ---- the job API ---------------------------------------------------------------------------
    def open(self) -> None:
        self.opened = True

    def close(self) -> None:
        self.opened = False

    def identify(self) -> Identity:
        return Identity(*self.call(self.tool.idn))

    def load_recipe(self, body: dict[str, Any]) -> str:
        self.call(self.tool.load_recipe, body)
        (tool_hash,) = self.call(self.tool.recipe_hash)
        if tool_hash != body_hash(body):
            raise ToolError(self.tool_id, f"process program differs on the tool: {tool_hash[:12]}")
        return str(tool_hash)

    def create_job(self, job_id: str, wafers: list[str]) -> None:
        try:
            self.call(self.tool.create_job, job_id, ";".join(wafers))
        except CommandRejected as exc:
            if exc.code == DeviceError.JOB_EXISTS:
                raise JobConflict(self.tool_id, job_id, self.info(job_id).job_state) from exc
            raise

    def start(self, job_id: str) -> None:
        self.call(self.tool.start_job, job_id)

    def pause(self) -> None:
        self.call(self.tool.pause_job)

    def resume(self) -> None:
        self.call(self.tool.resume_job)

    def abort(self) -> None:
        self.call(self.tool.abort_job)

    def status(self) -> JobStatus:
        return JobStatus(*self.call(self.tool.job_status))

    def info(self, job_id: str) -> JobStatus:
        return JobStatus(*self.call(self.tool.job_info, job_id))

    def last_job(self) -> tuple[str, str]:
        job_id, state = self.call(self.tool.last_job)
        return job_id, state

    def results(self, job_id: str) -> list[dict[str, Any]]:
        (rows,) = self.call(self.tool.job_results, job_id)
        return list(rows)

    def alarms(self) -> list[Alarm]:
        (rows,) = self.call(self.tool.alarm_list)
        fields = Alarm.__dataclass_fields__
        return [Alarm(**{k: v for k, v in row.items() if k in fields}) for row in rows]

    def clear_alarms(self) -> None:
        self.call(self.tool.alarm_clear)

    def maintain(self, action: str, item: str = "") -> None:
        self.call(self.tool.maintain, action, item or "-")


def in_process_backend(line: SimLine, tool_id: str) -> InProcessBackend:
    """The kind's in-process backend (its own `sim_hw/<kind>/inprocess.py` if it reads more)."""
    kind = line.tool(tool_id).kind
    try:
        module = importlib.import_module(f"sim_hw.{kind}.inprocess")
    except ModuleNotFoundError as exc:
        if exc.name != f"sim_hw.{kind}.inprocess":
            raise
        return InProcessBackend(line, tool_id)
    return module.BACKEND(line, tool_id)
