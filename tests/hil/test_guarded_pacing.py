"""An interlocked tool's job, run by the host's step over the real protocol: watched at the fastest
rate only around the guarded-phase entries its kind expects, paced through the hours between — and
a defeated tool interlock is still refused at the entry, from the readings of that moment."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.base import ToolDriver
from line import pacing
from line.config import LineConfig
from line.ledger import Ledger
from line.pacing import MIN_POLL_S
from line.recipes.tool_recipe import load_tool_recipe
from line.steps import ToolStep
from tests.hil.helpers import driver
from tests.support import ROOT, simulated

SPEED = 3000.0
LINE = LineConfig.model_validate({"apiVersion": "bumpline/v1", "kind": "Line", "metadata": {"name": "oven-line"},
                                  "tools": [{"id": "CURE01", "kind": "oven", "address": "modbus-tcp://127.0.0.1:1/1"}]})


@pytest.fixture
def oven() -> Iterator:
    from prefect.events.worker import EventsWorker

    EventsWorker.instance()    # a process's first tool event starts Prefect's event worker (~5 s): not in the job
    with simulated(("CURE01", "oven"), speed=SPEED) as sim:
        yield sim


def run(sim, tmp_path: Path, recipe: str) -> tuple[object, list[str], float]:
    """The step's outcome, the phase each status poll found, and the job's wall length at this clock."""
    polls: list[str] = []

    def counted(_tool) -> ToolDriver:
        d = driver(sim, "CURE01")
        info = d.backend.info

        def counting(job_id: str):
            status = info(job_id)
            polls.append(status.phase)
            return status
        d.backend.info = counting       # type: ignore[method-assign]
        return d

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        wafers = ledger.ensure_lot("L1", 3)
        for w in wafers:
            sim.tools["CURE01"].typical_incoming(sim.world, w)
        tool_recipe = load_tool_recipe(ROOT / recipe)
        out = ToolStep(ledger, LINE.tool("CURE01"), tool_recipe, "L1", "S1", wafers, driver_factory=counted,
                       clock_speed=SPEED).execute()
    finally:
        ledger.dispose()
    job = sim.tools["CURE01"].jobs.get("L1.S1.r0")
    wall = (job.ended_s - job.started_s) / SPEED if job is not None and job.ended_s is not None else 0.0
    return out, polls, wall


def test_an_oven_cure_is_paced_through_its_heat_once_the_heat_was_entered(oven, tmp_path, monkeypatch):
    monkeypatch.setattr(pacing, "_learnt", {})   # what other tests' tools, at other clocks, taught this process
    out, polls, wall = run(oven, tmp_path, "recipes/oven/pi-cure-350.yaml")
    assert out.status == "COMPLETE", out.headline
    assert "HEAT" in polls                              # its entry was seen, so its guard was asked
    every_50_ms = wall / MIN_POLL_S                     # what watching it throughout cost (~120 polls)
    assert wall > 3 and len(polls) < every_50_ms / 4, (len(polls), every_50_ms)


def test_heat_without_the_purge_the_tool_skipped_is_still_refused_at_its_entry(oven, tmp_path):
    oven.call(oven.inject, "CURE01", "interlock_defeat", persistent=True)   # the tool heats regardless
    out, _, _ = run(oven, tmp_path, "recipes/oven/reflow-sac305.yaml")
    assert (out.status, out.hold_type) == ("ON_HOLD", "INTERLOCK"), out.headline
    assert "O2" in out.hold_reason
