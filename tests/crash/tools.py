"""The tool a crash-point run drives, on either tier, behind one small interface: a driver whose
acting commands are write points, how many times a job was started over every incarnation of the
tool, and a restart that loses the tool's job memory (a new simulator process, as after a power
cycle: the wafers are still in it, their jobs forgotten)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from drivers.base import ToolDriver
from drivers.mock import RecordingBackend, Script
from drivers.registry import SPECS, driver_class

ACTING = ("load_recipe", "create_job", "start", "pause", "resume", "abort", "clear_alarms")
"""The backend calls that act on the tool: each is a write point, counted once the tool answered."""


class PointsLike(Protocol):
    def point(self, what: str) -> None: ...
    def check_alive(self, what: str) -> None: ...


class Pointed:
    """A backend seen through the orchestrator's life: an acting call is a write point once the tool
    answered; after death, the orchestrator asks nothing more."""

    def __init__(self, inner: Any, owner: HarnessTool) -> None:
        self._inner, self._owner = inner, owner

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            points = self._owner.points
            points.check_alive(f"tool {name}")
            out = target(*args, **kwargs)
            if name in ACTING:
                points.point(f"tool {name}")
            return out
        return call


class NoPoints:
    def point(self, what: str) -> None:
        pass

    def check_alive(self, what: str) -> None:
        pass


class HarnessTool:
    """One tool of a kind; `points` is swapped for each orchestrator's life."""
    tool_id: str
    kind: str
    points: PointsLike

    def driver(self) -> ToolDriver:
        raise NotImplementedError

    def starts(self, job_id: str) -> int:
        raise NotImplementedError

    def restart(self) -> None:
        raise NotImplementedError

    def wafer_starts(self) -> dict[str, int]:
        """How many started jobs carried each wafer, over every incarnation of the tool."""
        out = dict(self.earlier_wafer_starts)
        for job in self._jobs().values():
            for w in job.wafers:
                out[w] = out.get(w, 0) + job.start_count
        return out

    def _forget(self) -> None:
        """Before a restart: what the tool's incarnation started is counted, then lost with it."""
        for job_id, job in self._jobs().items():
            self.earlier_starts[job_id] = self.earlier_starts.get(job_id, 0) + job.start_count
            for w in job.wafers:
                self.earlier_wafer_starts[w] = self.earlier_wafer_starts.get(w, 0) + job.start_count

    def _jobs(self) -> dict[str, Any]:
        raise NotImplementedError

    def orchestrator_died(self) -> None:
        """The dead process's sockets close (the OS does it for a killed process)."""


class MockTool(HarnessTool):
    def __init__(self, kind: str, points: PointsLike) -> None:
        self.tool_id, self.kind, self.points = f"{kind.upper()}-X", kind, points
        self.backend = RecordingBackend(self.tool_id, SPECS[kind], Script())
        self.earlier_starts: dict[str, int] = {}
        self.earlier_wafer_starts: dict[str, int] = {}

    def driver(self) -> ToolDriver:
        return driver_class(self.kind)(self.tool_id, backend=Pointed(self.backend, self))  # type: ignore[arg-type]

    def _jobs(self) -> dict[str, Any]:
        return self.backend.jobs

    def starts(self, job_id: str) -> int:
        now = self.backend.jobs[job_id].start_count if job_id in self.backend.jobs else 0
        return self.earlier_starts.get(job_id, 0) + now

    def restart(self) -> None:
        self._forget()
        self.backend = RecordingBackend(self.tool_id, SPECS[self.kind], Script())


class SocketTool(HarnessTool):
    """The kind's simulator served on loopback, driven over pyvisa-py or pymodbus."""

    def __init__(self, kind: str, points: PointsLike, wafers: list[str]) -> None:
        self.tool_id, self.kind, self.points, self.wafers = f"{kind.upper()}-X", kind, points, wafers
        self.earlier_starts: dict[str, int] = {}
        self.earlier_wafer_starts: dict[str, int] = {}
        self.open_drivers: list[ToolDriver] = []
        self.line: Any = None
        self._boot()

    def _boot(self) -> None:
        from sim_hw.line import SimLine, SimToolSpec
        from tests.contract.tiers import SPEED, socket_driver_factory

        self.line = SimLine([SimToolSpec(self.tool_id, self.kind)], speed=SPEED, seed=7, control_port=None,
                            noise=0).start_in_thread()
        for w in self.wafers:
            self.line.tool(self.tool_id).typical_incoming(self.line.world, w)
        self._make = socket_driver_factory(self.line, self.tool_id, self.kind)

    def driver(self) -> ToolDriver:
        made = self._make()
        made.backend = Pointed(made.backend, self)  # type: ignore[assignment]
        self.open_drivers.append(made)
        return made

    def _jobs(self) -> dict[str, Any]:
        return self.line.tool(self.tool_id).jobs

    def starts(self, job_id: str) -> int:
        jobs = self.line.tool(self.tool_id).jobs
        return self.earlier_starts.get(job_id, 0) + (jobs[job_id].start_count if job_id in jobs else 0)

    def orchestrator_died(self) -> None:
        for d in self.open_drivers:
            try:
                d.backend._inner.close()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - already closed: the point is that it is
                pass
        self.open_drivers.clear()

    def restart(self) -> None:
        self._forget()
        self.line.stop_thread()
        self._boot()

    def stop(self) -> None:
        self.orchestrator_died()
        self.line.stop_thread()


@contextmanager
def make_tool(tier: str, kind: str, wafers: list[str], points: PointsLike | None = None) -> Iterator[HarnessTool]:
    if tier == "mock":
        yield MockTool(kind, points or NoPoints())
        return
    tool = SocketTool(kind, points or NoPoints(), wafers)
    try:
        yield tool
    finally:
        tool.stop()
