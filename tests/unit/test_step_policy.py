"""The step's policy on the mock tier: no simulator, no socket — a recording backend plays the tool.

What `ToolStep` decides from what a tool says: complete, hold on an alarm (and abort), hold on an
interlock (and abort), hold on unprocessed wafers or out-of-spec results, and reattach (never
start again) to a job the tool already has. The ledger is SQLite in a temporary folder.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.mock import RecordingBackend, Script
from drivers.registry import SPECS, driver_class
from line.config import LineConfig, ToolConfig
from line.ledger import Ledger
from line.recipes.route import Spec
from line.recipes.tool_recipe import ToolRecipe, load_tool_recipe
from line.steps import ToolStep
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
