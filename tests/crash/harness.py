"""The crash-point harness (issue #14): every point at which a reference step writes — a ledger
commit, or a command that acts on the tool — is counted on a clean run; then the orchestrator is
killed at each point k = 1…N in turn (as `kill -9` would: after the k-th write, nothing more of it
runs or writes), the tool either keeps its memory or is restarted without it, and the step is resumed
as `bumpline resume` does it (leases of finished holders released, the step executed again). Each
run checks the invariants: the job ran at most once over every tool incarnation, the step ended
COMPLETE with every wafer's result recorded once or is held with an actionable reason, no lease
is left, one step run.

Two tiers of the same tool (`tests.crash.tools`): the mock tier (a recording backend, instant and
scripted), where every point is exact and the count is pinned; and the socket tier (the simulator
behind its real protocol, restarted as a new process would be), where a job's progress commits
depend on when a poll lands — there consecutive writes of one kind are one point (the kill falls
after the first of them), and every commit that only records what a poll saw while the job runs is
of one kind (`observation`), so the count is pinned there too. The ledger is real
(SQLite or PostgreSQL) on both.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

from drivers.base import ToolDriver
from line.batching import outcome_of
from line.config import ToolConfig
from line.leases import release_finished
from line.ledger import Ledger
from line.recipes.route import Spec
from line.recipes.tool_recipe import load_tool_recipe
from line.steps import Rider, ToolStep
from tests.contract.tiers import contract_recipe
from tests.crash.tools import ACTING, HarnessTool, make_tool

ACTIONABLE_HOLDS = ("INTERRUPTED", "COMMUNICATION", "TOOL_ERROR")
_WRITE = re.compile(r"^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)", re.IGNORECASE)


OBSERVATION = "ledger what a status poll saw (job progress)"
_OBSERVED = re.compile(r"^(events\((tool phase_\w+|wafer slot-start|job (setup|ready|start))(,[^)]*)?\)|step_runs|wafers)$")


def observation(label: str) -> bool:
    """A commit that only records what a poll saw while the job runs (a phase, a wafer begun, the
    progress row): on a real tool how many a run makes depends on when the polls land."""
    parts = label.removeprefix("ledger ").split("+")
    return label.startswith("ledger ") and all(_OBSERVED.match(p) for p in parts) and parts != ["wafers"]


class Killed(BaseException):
    """The orchestrator dies (nothing after it runs on its side)."""


@dataclass
class Points:
    """Counts write points; kills after the `kill_at`-th (0: never). Once dead, nothing more is
    written or sent. `collapse`: consecutive writes of one label are one point (the socket tier)."""
    kill_at: int = 0
    collapse: bool = False
    n: int = 0
    dead: bool = False
    log: list[str] = field(default_factory=list)

    def point(self, what: str) -> None:
        if self.dead:
            raise Killed(f"dead; {what} never happens")
        if self.collapse:
            what = OBSERVATION if observation(what) else what
            if self.log and self.log[-1] == what:
                return
        self.n += 1
        self.log.append(what)
        if self.n == self.kill_at:
            self.dead = True
            raise Killed(f"killed after write {self.n}: {what}")

    def check_alive(self, what: str) -> None:
        if self.dead:
            raise Killed(f"dead; {what} never happens")


def pointed_ledger(url: str, points: Points) -> Ledger:
    """The ledger, with each commit a write point labelled by the rows it wrote (`ledger
    events(job tool-report)+step_runs`), so a point can be named and the socket tier's repeats merged."""
    ledger = Ledger(url)
    pending: list[str] = []

    @event.listens_for(ledger.engine, "before_cursor_execute")
    def _sql(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if match := _WRITE.match(statement):
            table = match.group(2)
            if table == "events" and context is not None and context.compiled_parameters:
                table += "(" + ",".join(f"{p.get('entity')} {p.get('trigger')}" for p in context.compiled_parameters) + ")"
            pending.append(table)

    @event.listens_for(ledger._sessions, "before_commit")
    def _before(session: Any) -> None:
        points.check_alive("the commit")

    @event.listens_for(ledger._sessions, "after_commit")
    def _after(session: Any) -> None:
        label = "ledger " + "+".join(dict.fromkeys(pending)) if pending else "ledger (nothing written)"
        pending.clear()
        points.point(label)
    return ledger


@dataclass
class Run:
    k: int
    restarted: bool
    outcome: str
    problems: list[str]


def reference_step(ledger: Ledger, tool: HarnessTool, lot: str, riders: tuple[Rider, ...] = (),
                   specs: list | None = None) -> ToolStep:
    config = ToolConfig(id=tool.tool_id, kind=tool.kind, address="TCPIP0::127.0.0.1::1::SOCKET")
    recipe = load_tool_recipe(contract_recipe(tool.kind))
    wafers = [w.id for w in ledger.wafers(lot)]

    def driver(_: ToolConfig) -> ToolDriver:
        return tool.driver()
    # what the wafers measure is the physics tests' concern: a tool alone receives wafers as it usually
    # does, not as a route made them (a plater's seed with no mold plates a tenth of the thickness)
    return ToolStep(ledger, config, recipe, lot, "S1", wafers, lease_ttl_s=60, driver_factory=driver,
                    tolerance_pct=1e6, riders=riders, specs=specs)


def count_points(url: str, kind: str, tier: str = "mock") -> list[str]:
    """The write points of one clean run of the kind's reference step, on a ledger that has seen the
    recipe once already (as every killed run will: the first run registers its identity)."""
    warm = Ledger(url)
    for lot in ("WARM", "REF"):
        warm.ensure_lot(f"{tier[0].upper()}{lot}", 2)
    with make_tool(tier, kind, [w.id for w in warm.wafers(f"{tier[0].upper()}WARM")]) as tool:
        assert reference_step(warm, tool, f"{tier[0].upper()}WARM").execute().status == "COMPLETE"
    points = Points(collapse=tier != "mock")
    ledger = pointed_ledger(url, points)
    with make_tool(tier, kind, [w.id for w in warm.wafers(f"{tier[0].upper()}REF")], points) as tool:
        out = reference_step(ledger, tool, f"{tier[0].upper()}REF").execute()
    warm.dispose()
    ledger.dispose()
    assert out.status == "COMPLETE", out
    return points.log


@contextmanager
def killed_then_resumed(url: str, kind: str, k: int, restarted: bool, tier: str, wafers: list[str],
                        run: Callable[[Ledger, HarnessTool], Any]) -> Iterator[tuple[Ledger, HarnessTool]]:
    """`run` on a pointed ledger, killed after its k-th write; then what a resume starts from: a
    new orchestrator's ledger (finished holders' leases released) and the tool as it was, or
    restarted without its jobs."""
    points = Points(kill_at=k, collapse=tier != "mock")
    ledger = pointed_ledger(url, points)
    with make_tool(tier, kind, wafers, points) as tool:
        try:
            run(ledger, tool)
            raise AssertionError(f"point {k} was never reached")
        except Killed:
            pass
        tool.orchestrator_died()
        ledger.dispose()
        again = Ledger(url)
        release_finished(again)
        if restarted:
            tool.restart()
        tool.points = Points()
        try:
            yield again, tool
        finally:
            again.dispose()


def kill_and_resume(url: str, kind: str, k: int, restarted: bool, tier: str = "mock") -> Run:
    lot = f"K{tier[0].upper()}{k:02d}{'R' if restarted else 'A'}"
    setup = Ledger(url)
    setup.ensure_lot(lot, 2)
    wafers = [w.id for w in setup.wafers(lot)]
    setup.dispose()
    with killed_then_resumed(url, kind, k, restarted, tier, wafers,
                             lambda ledger, tool: reference_step(ledger, tool, lot).execute()) as (again, tool):
        out = reference_step(again, tool, lot).execute()
        problems = check(again, lot, wafers, out, tool)
    return Run(k, restarted, f"{out.status} {out.hold_type}".strip(), problems)


def check(ledger: Ledger, lot: str, wafers: list[str], out: Any, tool: HarnessTool) -> list[str]:
    """The invariants, as messages (empty: all held)."""
    problems = []
    starts = tool.starts(f"{lot}.S1.r0")
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


# ---- a batch job: one oven job carrying three lots, one of them held -------------------------------
BATCH_KIND = "oven"
NARROW = (Spec(measurement="peak", unit="°C", target=250.0, lsl=240.0, usl=260.0),)
"""the third lot's route limits: no peak meets them, so that lot is held OUT_OF_SPEC, the others not"""


def batch_lots(ledger: Ledger, prefix: str) -> list[str]:
    lots = [f"{prefix}-{i}" for i in (1, 2, 3)]
    for lot in lots:
        ledger.ensure_lot(lot, 2)
    return lots


def lot_step(ledger: Ledger, tool: HarnessTool, lot: str, riders: tuple[Rider, ...] = ()) -> ToolStep:
    """A lot's cure step, leading a batch job with `riders`, or alone (as a lot resumes); the
    third lot of a batch judged by its own narrow limits."""
    return reference_step(ledger, tool, lot, riders, list(NARROW) if lot.endswith("-3") else None)


def batched_step(ledger: Ledger, tool: HarnessTool, lots: list[str]) -> ToolStep:
    riders = tuple(Rider(lot, "S1", tuple(w.id for w in ledger.wafers(lot)), tolerance_pct=1e6,
                         specs=NARROW if lot.endswith("-3") else ()) for lot in lots[1:])
    return lot_step(ledger, tool, lots[0], riders)


def count_batch_points(url: str, tier: str = "mock") -> list[str]:
    """The write points of one clean batch job of three lots (the recipe seen once already)."""
    warm = Ledger(url)
    t = tier[0].upper()
    warm_lots, ref_lots = batch_lots(warm, f"{t}BWARM"), batch_lots(warm, f"{t}BREF")
    with make_tool(tier, BATCH_KIND, all_wafers(warm, warm_lots)) as tool:
        batched_step(warm, tool, warm_lots).execute()
    points = Points(collapse=tier != "mock")
    ledger = pointed_ledger(url, points)
    with make_tool(tier, BATCH_KIND, all_wafers(warm, ref_lots), points) as tool:
        step = batched_step(ledger, tool, ref_lots)
        step.execute()
    warm.dispose()
    ledger.dispose()
    assert [o.status for o in step.outcomes] == ["COMPLETE", "COMPLETE", "ON_HOLD"], step.outcomes
    return points.log


def all_wafers(ledger: Ledger, lots: list[str]) -> list[str]:
    return [w.id for lot in lots for w in ledger.wafers(lot)]


def kill_and_resume_batch(url: str, k: int, restarted: bool, tier: str = "mock") -> Run:
    """Kill the batch job's orchestrator after its k-th write; then each lot is resumed on its own,
    as `bumpline resume` resumes lots — whichever of them comes first."""
    setup = Ledger(url)
    lots = batch_lots(setup, f"KB{tier[0].upper()}{k:02d}{'R' if restarted else 'A'}")
    wafers = all_wafers(setup, lots)
    setup.dispose()
    with killed_then_resumed(url, BATCH_KIND, k, restarted, tier, wafers,
                             lambda ledger, tool: batched_step(ledger, tool, lots).execute()) as (again, tool):
        problems, outcomes = [], []
        for lot in lots:
            run = again.find_step(lot, "S1")
            if run is not None and run.status != "RUNNING":       # ended with the batch before the kill
                out = outcome_of(again, run)
            else:
                out = lot_step(again, tool, lot).execute()
            outcomes.append(f"{out.status} {out.hold_type}".strip())
            problems += batch_check(again, lot, [w.id for w in again.wafers(lot)], out)
        if twice := sorted(w for w, n in tool.wafer_starts().items() if n > 1):
            problems.append(f"wafers in more than one started job: {twice}")
        if left := again.leases():
            problems.append(f"leases left: {left}")
    return Run(k, restarted, " / ".join(outcomes), problems)


def batch_check(ledger: Ledger, lot: str, wafers: list[str], out: Any) -> list[str]:
    """One lot's invariants after a batch job it rode in: one step run; complete with its own wafers'
    results (the third lot: held OUT_OF_SPEC with them), or held with an actionable reason."""
    runs = [r for r in ledger.step_runs(lot) if r.step_id == "S1"]
    problems = [f"{lot}: {len(runs)} step runs"] if len(runs) != 1 else []
    expected = ("ON_HOLD", "OUT_OF_SPEC") if lot.endswith("-3") else ("COMPLETE", "")
    if (out.status, out.hold_type) == expected:
        got = sorted(r.wafer_id for r in ledger.results(runs[0].id)) if runs else []
        if got != sorted(wafers):
            problems.append(f"{lot}: results recorded {got} for {wafers}")
    elif out.status != "ON_HOLD" or out.hold_type not in ACTIONABLE_HOLDS or not out.hold_reason:
        problems.append(f"{lot}: ended {out.status} {out.hold_type}, expected {expected} or an actionable hold")
    return problems


__all__ = ["ACTING", "Killed", "Points", "count_batch_points", "count_points", "kill_and_resume",
           "kill_and_resume_batch"]
