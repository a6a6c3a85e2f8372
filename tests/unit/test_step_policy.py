"""The step's policy on the mock tier: no simulator, no socket — a recording backend plays the tool.

What `ToolStep` decides from what a tool says: complete, hold on an alarm (and abort), hold on an
interlock (and abort), hold on unprocessed wafers or out-of-spec results, and reattach (never
start again) to a job the tool already has; and when a step lets its tool go (before its records
only after a job that ended well, on a tool that remembers it). The ledger is SQLite in a
temporary folder.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from drivers.mock import RecordingBackend, Script
from drivers.registry import SPECS, driver_class
from line.config import LineConfig, ToolConfig
from line.ledger import Ledger
from line.ledger import models as m
from line.recipes.route import Spec
from line.recipes.tool_recipe import ToolRecipe, load_tool_recipe
from line.steps import Leased, ToolStep
from tests.support import ROOT

LINE = LineConfig.model_validate({"apiVersion": "bumpline/v1", "kind": "Line", "metadata": {"name": "mock-line"},
                                  "tools": [{"id": "PVD01", "kind": "sputter", "address": "TCPIP0::127.0.0.1::1::SOCKET"},
                                            {"id": "RFL01", "kind": "oven", "address": "modbus-tcp://127.0.0.1:1/1"}]})
RECIPES = {"sputter": ROOT / "recipes/sputter/ti100-cu300-seed.yaml", "oven": ROOT / "recipes/oven/reflow-sac305.yaml"}


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield led
    led.dispose()


def step(ledger: Ledger, tool_id: str, script: Script, lot: str = "L1", **kw: object) -> tuple[ToolStep, RecordingBackend]:
    tool: ToolConfig = LINE.tool(tool_id)
    recipe: ToolRecipe = load_tool_recipe(RECIPES[tool.kind])
    backend = RecordingBackend(tool.id, SPECS[tool.kind], script)
    wafers = ledger.lot(lot) and [w.id for w in ledger.wafers(lot)] or ledger.ensure_lot(lot, 3)
    return ToolStep(ledger, tool, recipe, lot, "S1", wafers, driver_factory=lambda t: driver_class(t.kind)(
        t.id, backend=backend), **kw), backend


def test_a_clean_job_completes_and_is_started_once(ledger: Ledger) -> None:
    s, backend = step(ledger, "PVD01", Script())
    out = s.execute()
    assert out.status == "COMPLETE" and set(out.wafer_status.values()) == {"PROCESSED"}
    assert backend.called("start") == 1 and backend.called("abort") == 0
    assert ledger.lot("L1") is not None and ledger.step_runs("L1")[0].status == "COMPLETE"


def test_an_alarm_holds_the_lot_with_its_name_and_the_job_is_aborted(ledger: Ledger) -> None:
    s, backend = step(ledger, "PVD01", Script(alarm_at_poll=2, alarm="HARD_ARC"))
    out = s.execute()
    assert (out.status, out.hold_type) == ("ON_HOLD", "ALARM") and "2001 HARD_ARC" in out.hold_reason
    assert backend.called("abort") == 1
    assert [a.name for a in ledger.alarms("L1")] == ["HARD_ARC"]


def test_a_refused_interlock_holds_and_aborts_before_the_plasma(ledger: Ledger) -> None:
    s, backend = step(ledger, "PVD01", Script(readings={"base_torr": 1e-3}))      # far above the base limit
    out = s.execute()
    assert (out.status, out.hold_type) == ("ON_HOLD", "INTERLOCK") and "base pressure" in out.hold_reason
    assert backend.called("abort") == 1


def test_a_wafer_the_tool_did_not_process_holds_the_lot_incomplete(ledger: Ledger) -> None:
    s, _ = step(ledger, "PVD01", Script(not_processed=("L1.02",)))
    out = s.execute()
    assert (out.status, out.hold_type) == ("ON_HOLD", "INCOMPLETE") and "L1.02" in out.hold_reason


def test_a_result_outside_the_route_spec_holds_the_lot_out_of_spec(ledger: Ledger) -> None:
    s, _ = step(ledger, "RFL01", Script(values={"peak_c": 262.0}), specs=[Spec(measurement="peak", lsl=235, usl=255)])
    out = s.execute()
    assert (out.status, out.hold_type) == ("ON_HOLD", "OUT_OF_SPEC") and "peak=262" in out.hold_reason


def test_a_job_the_tool_already_has_is_reattached_never_started_again(ledger: Ledger) -> None:
    first, backend = step(ledger, "PVD01", Script())
    assert first.execute().status == "COMPLETE"
    again = ToolStep(ledger, LINE.tool("PVD01"), load_tool_recipe(RECIPES["sputter"]), "L1", "S1",
                     [w.id for w in ledger.wafers("L1")], driver_factory=lambda t: driver_class(t.kind)(t.id, backend=backend))
    assert again.execute().status == "COMPLETE"
    assert backend.called("start") == 1 and backend.called("create_job") == 1
    assert [e.trigger for e in ledger.events("job", "L1.S1.r0") if e.trigger == "reattach"] == ["reattach"]


class Killed(BaseException):
    """The orchestrator dies here (as kill -9 would: nothing after it runs on that side)."""


class DyingBackend(RecordingBackend):
    """A tool that runs what it is told; the host dies right after sending `die_after`."""

    def __init__(self, *args: object, die_after: str) -> None:
        super().__init__(*args)           # type: ignore[arg-type]
        self.die_after, self.dead = die_after, False

    def _record(self, name: str, *args: object) -> None:
        if self.dead:
            raise Killed(name)
        super()._record(name, *args)

    def create_job(self, job_id: str, wafers: list[str]) -> None:
        super().create_job(job_id, wafers)
        if self.die_after == "create_job":
            self.dead = True
            raise Killed("after create_job")

    def start(self, job_id: str) -> None:
        super().start(job_id)
        if self.die_after == "start":
            self.dead = True
            raise Killed("after start")


def crash_then_resume(ledger: Ledger, die_after: str) -> tuple[ToolStep, RecordingBackend, RecordingBackend]:
    tool, recipe = LINE.tool("PVD01"), load_tool_recipe(RECIPES["sputter"])
    wafers = ledger.ensure_lot("L1", 3)
    dying = DyingBackend(tool.id, SPECS["sputter"], Script(), die_after=die_after)
    first = ToolStep(ledger, tool, recipe, "L1", "S1", wafers, driver_factory=lambda t: driver_class(t.kind)(t.id, backend=dying))
    with pytest.raises(Killed):
        first.execute()
    restarted = RecordingBackend(tool.id, SPECS["sputter"], Script())          # the tool restarted: it forgot its jobs
    again = ToolStep(ledger, tool, recipe, "L1", "S1", wafers,
                     driver_factory=lambda t: driver_class(t.kind)(t.id, backend=restarted), lease_ttl_s=0.1)
    return again, dying, restarted


def test_a_step_whose_start_went_out_is_held_when_the_restarted_tool_has_forgotten_it(ledger: Ledger) -> None:
    """Killed in the instant after the tool started the job, before any job state reached the ledger:
    the write-ahead start record says it may have run, so the step is held — never set up again."""
    again, dying, restarted = crash_then_resume(ledger, "start")
    assert dying.jobs["L1.S1.r0"].start_count == 1
    out = again.execute()
    assert (out.status, out.hold_type) == ("ON_HOLD", "INTERRUPTED") and "no record of it" in out.hold_reason
    assert restarted.called("create_job") == 0 and restarted.called("start") == 0


def test_a_step_killed_before_its_start_went_out_is_set_up_again_once(ledger: Ledger) -> None:
    """Killed after the job was created but before the start was recorded: nothing ran, so a restarted
    tool gets the job again and runs it once."""
    again, dying, restarted = crash_then_resume(ledger, "create_job")
    assert dying.jobs["L1.S1.r0"].start_count == 0
    assert again.execute().status == "COMPLETE"
    assert restarted.called("create_job") == 1 and restarted.called("start") == 1


class ForgetfulBackend(RecordingBackend):
    """A PLC's memory: it answers for its current (or last) job only."""

    remembers_jobs = False


def test_a_tool_that_remembers_its_jobs_is_let_go_before_the_steps_records(ledger: Ledger) -> None:
    """The job ended well and its results are read: the tool goes back to the dispatcher while the
    step is still RUNNING in the ledger (its records need no tool), once."""
    seen: list[tuple[str, int]] = []

    def let_go() -> None:
        run = ledger.step_runs("L1")[0]
        seen.append((run.status, len(ledger.results(run.id))))

    s, _ = step(ledger, "PVD01", Script(), leased=Leased(let_go))
    assert s.execute().status == "COMPLETE"
    assert seen == [("RUNNING", 0)]


@pytest.mark.parametrize("script", [Script(alarm_at_poll=2, alarm="HARD_ARC"), Script(not_processed=("L1.02",))],
                         ids=["alarm", "incomplete"])
def test_only_a_job_that_ended_well_lets_its_tool_go_early(ledger: Ledger, script: Script) -> None:
    """After an alarm the step keeps its tool until the hold is written (the dispatcher releases it
    at the block's end). A job that ended well but left a wafer unprocessed has told all it will:
    its tool is let go, and the INCOMPLETE hold is judged from the records."""
    calls: list[str] = []
    s, _ = step(ledger, "PVD01", script, leased=Leased(lambda: calls.append("let go")))
    assert s.execute().status == "ON_HOLD"
    assert calls == ([] if script.alarm else ["let go"])


def test_a_plc_that_forgets_its_jobs_keeps_the_tool_until_the_records_are_written(ledger: Ledger) -> None:
    calls: list[str] = []
    tool, recipe = LINE.tool("RFL01"), load_tool_recipe(RECIPES["oven"])
    backend = ForgetfulBackend(tool.id, SPECS["oven"], Script())
    s = ToolStep(ledger, tool, recipe, "L1", "S1", ledger.ensure_lot("L1", 3),
                 leased=Leased(lambda: calls.append("let go")), driver_factory=lambda t: driver_class(t.kind)(t.id, backend=backend))
    assert s.execute().status == "COMPLETE"
    assert calls == []


def test_a_crash_after_the_tool_was_let_go_reads_the_results_again_and_runs_nothing_twice(ledger: Ledger) -> None:
    """Killed right after letting the tool go, before any record of the job's end: another lot runs
    its job on the tool meanwhile; the resumed step finds its own job there by id, reads its results
    and completes — started once."""
    tool, recipe = LINE.tool("PVD01"), load_tool_recipe(RECIPES["sputter"])
    backend = RecordingBackend(tool.id, SPECS["sputter"], Script())

    def killed() -> None:
        raise Killed("after letting the tool go")

    def on_tool(lot: str, **kw: object) -> ToolStep:
        wafers = [w.id for w in ledger.wafers(lot)] if ledger.lot(lot) else ledger.ensure_lot(lot, 3)
        return ToolStep(ledger, tool, recipe, lot, "S1", wafers, lease_ttl_s=0.1,
                        driver_factory=lambda t: driver_class(t.kind)(t.id, backend=backend), **kw)

    with pytest.raises(Killed):
        on_tool("L1", leased=Leased(killed)).execute()
    assert ledger.step_runs("L1")[0].status == "RUNNING"
    assert on_tool("L2").execute().status == "COMPLETE"          # the tool's next job
    out = on_tool("L1").execute()
    assert out.status == "COMPLETE" and set(out.wafer_status.values()) == {"PROCESSED"}
    assert backend.jobs["L1.S1.r0"].start_count == 1 and backend.called("start") == 2
    assert len(ledger.results(ledger.step_runs("L1")[0].id)) == 3


@pytest.mark.parametrize("backend_class", [RecordingBackend, ForgetfulBackend], ids=["remembers", "forgets"])
def test_a_step_holding_its_own_lease_lets_the_tool_go_before_its_records_only_if_the_tool_remembers(
        ledger: Ledger, backend_class: type[RecordingBackend]) -> None:
    """`bumpline run` (no dispatcher): the step's own lease is released before the step's end is
    written on a tool that remembers the job, after it on a PLC that forgets it."""
    tool, recipe = LINE.tool("RFL01"), load_tool_recipe(RECIPES["oven"])
    backend = backend_class(tool.id, SPECS["oven"], Script())
    s = ToolStep(ledger, tool, recipe, "L1", "S1", ledger.ensure_lot("L1", 3),
                 driver_factory=lambda t: driver_class(t.kind)(t.id, backend=backend))
    assert s.execute().status == "COMPLETE"
    with ledger.session() as session:
        order = [(e.entity, e.trigger) for e in session.scalars(select(m.Event).order_by(m.Event.id))]
    released_first = order.index(("tool", "release")) < order.index(("step", "finish"))
    assert released_first == backend_class.remembers_jobs


def test_a_tool_that_could_not_be_let_go_early_still_gets_the_steps_records(ledger: Ledger) -> None:
    """The early release failed (the database away for a moment): the step's end is written all
    the same — the dispatcher's block releases the tool after it."""
    def let_go() -> None:
        raise OSError("the database went away")

    s, _ = step(ledger, "PVD01", Script(), leased=Leased(let_go))
    out = s.execute()
    assert out.status == "COMPLETE" and len(ledger.results(out.step_run_id)) == 3
