"""The crash-point harness (issue #14): every point at which a reference step writes — a ledger
commit, or a command that acts on the tool — is counted on a clean run; then the orchestrator is
killed at each point k = 1…N in turn (as `kill -9` would: after the k-th write, nothing more of it
runs or writes), the tool either keeps its memory or is restarted without it, and the step is resumed
as `bumpline resume` does it (leases of finished holders released, the step executed again). Each
run checks the invariants: the job ran at most once over every tool incarnation, the step ended
COMPLETE with every wafer's result recorded once or is held with an actionable reason, no lease
is left, one step run.

The tool is the mock tier (a recording backend, instant and scripted), so a kill point is exact; the
ledger is real (SQLite or PostgreSQL).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

from drivers.mock import RecordingBackend, Script
from drivers.registry import SPECS, driver_class
from line.config import ToolConfig
from line.leases import release_finished
from line.ledger import Ledger
from line.recipes.tool_recipe import load_tool_recipe
from line.steps import ToolStep
from tests.contract.tiers import contract_recipe

ACTING = ("load_recipe", "create_job", "start", "pause", "resume", "abort", "clear_alarms")
ACTIONABLE_HOLDS = ("INTERRUPTED", "COMMUNICATION", "TOOL_ERROR")


class Killed(BaseException):
    """The orchestrator dies (nothing after it runs on its side)."""


@dataclass
class Points:
    """Counts write points; kills at `kill_at` (0: never). Once dead, no further commit happens."""
    kill_at: int = 0
    n: int = 0
    dead: bool = False
    log: list[str] = field(default_factory=list)

    def point(self, what: str) -> None:
        if self.dead:
            raise Killed(f"dead; {what} never happens")
        self.n += 1
        self.log.append(what)
        if self.n == self.kill_at:
            self.dead = True
            raise Killed(f"killed after write {self.n}: {what}")


class PointedBackend(RecordingBackend):
    """The tool: each acting command is a write point (counted after the tool acted)."""

    points: Points

    def _record(self, name: str, *args: Any) -> None:
        super()._record(name, *args)
        if name in ACTING:
            self.points.point(f"tool {name}")
        elif self.points.dead:
            raise Killed(f"dead; tool {name} never asked")


def pointed_ledger(url: str, points: Points) -> Ledger:
    ledger = Ledger(url)

    @event.listens_for(ledger._sessions, "before_commit")
    def _before(session: Any) -> None:
        if points.dead:
            raise Killed("dead; the commit never happens")

    @event.listens_for(ledger._sessions, "after_commit")
    def _after(session: Any) -> None:
        points.point("ledger commit")
    return ledger


@dataclass
class Run:
    k: int
    restarted: bool
    outcome: str
    problems: list[str]


def reference_step(ledger: Ledger, kind: str, backend: RecordingBackend, lot: str) -> ToolStep:
    tool = ToolConfig(id=f"{kind.upper()}-X", kind=kind, address="TCPIP0::127.0.0.1::1::SOCKET")
    recipe = load_tool_recipe(contract_recipe(kind))
    wafers = [w.id for w in ledger.wafers(lot)]
    return ToolStep(ledger, tool, recipe, lot, "S1", wafers, lease_ttl_s=60,
                    driver_factory=lambda t: driver_class(t.kind)(t.id, backend=backend))


def count_points(url: str, kind: str) -> list[str]:
    """The write points of one clean run of the kind's reference step, on a ledger that has seen the
    recipe once already (as every killed run will: the first run registers its identity)."""
    warm = Ledger(url)
    warm.ensure_lot("WARM", 2)
    assert reference_step(warm, kind, RecordingBackend(f"{kind.upper()}-X", SPECS[kind], Script()), "WARM").execute() \
        .status == "COMPLETE"
    warm.ensure_lot("REF", 2)
    warm.dispose()
    points = Points()
    ledger = pointed_ledger(url, points)
    backend = PointedBackend(f"{kind.upper()}-X", SPECS[kind], Script())
    backend.points = points
    out = reference_step(ledger, kind, backend, "REF").execute()
    ledger.dispose()
    assert out.status == "COMPLETE", out
    return points.log


def kill_and_resume(url: str, kind: str, k: int, restarted: bool) -> Run:
    lot = f"K{k:02d}{'R' if restarted else 'A'}"
    setup = Ledger(url)
    setup.ensure_lot(lot, 2)
    wafers = [w.id for w in setup.wafers(lot)]
    setup.dispose()
    points = Points(kill_at=k)
    ledger = pointed_ledger(url, points)
    tool = PointedBackend(f"{kind.upper()}-X", SPECS[kind], Script())
    tool.points = points
    try:
        reference_step(ledger, kind, tool, lot).execute()
        raise AssertionError(f"point {k} was never reached")
    except Killed:
        pass
    ledger.dispose()
    # resume: a new orchestrator, the same ledger; the tool as it was, or restarted without its jobs
    again = Ledger(url)
    release_finished(again)
    job = f"{lot}.S1.r0"
    before_restart = tool.jobs[job].start_count if restarted and job in tool.jobs else 0
    if restarted:
        tool = PointedBackend(f"{kind.upper()}-X", SPECS[kind], Script())
    tool.points = Points()
    out = reference_step(again, kind, tool, lot).execute()
    problems = check(again, lot, wafers, out, tool, before_restart)
    again.dispose()
    return Run(k, restarted, f"{out.status} {out.hold_type}".strip(), problems)


def check(ledger: Ledger, lot: str, wafers: list[str], out: Any, tool: RecordingBackend, starts_before_restart: int) -> list[str]:
    """The invariants, as messages (empty: all held)."""
    problems = []
    job = f"{lot}.S1.r0"
    starts = starts_before_restart + (tool.jobs[job].start_count if job in tool.jobs else 0)
    if starts > 1:
        problems.append(f"the job started {starts} times over the tool's incarnations: wafers processed twice")
    runs = [r for r in ledger.step_runs(lot) if r.step_id == "S1"]
    if len(runs) != 1:
        problems.append(f"{len(runs)} step runs")
    if out.status == "COMPLETE":
        results = ledger.results(runs[0].id) if runs else []
        if sorted(r.wafer_id for r in results) != sorted(wafers):
            problems.append(f"results recorded {sorted(r.wafer_id for r in results)} for {wafers}")
    elif out.status != "ON_HOLD" or out.hold_type not in ACTIONABLE_HOLDS or not out.hold_reason:
        problems.append(f"ended {out.status} {out.hold_type}: not an actionable hold")
    if left := ledger.leases():
        problems.append(f"leases left: {left}")
    return problems
