"""Simulated time does not depend on the host's speed: a job's phases are chained on scheduled
simulated times, so a loaded host — whose late wake-ups are whole simulated minutes at ×3000 — runs
the job exactly as long in simulated time as its kind's job-time model says, and its physics the
same. The load here is a thread that holds the interpreter, as a busy orchestrator in the same
process does (the benchmarks run the simulators beside it)."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from drivers.registry import SPECS
from tests.contract.tiers import body, socket_driver_factory
from tests.support import simulated

SPEED = 3000.0


@contextmanager
def cpu_load(threads: int = 2) -> Iterator[None]:
    """Threads that keep the interpreter busy (each holds the GIL for its switch interval)."""
    stop = threading.Event()

    def spin() -> None:
        n = 0
        while not stop.is_set():
            for _ in range(20_000):
                n += 1

    workers = [threading.Thread(target=spin, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    try:
        yield
    finally:
        stop.set()
        for w in workers:
            w.join(5)


@contextmanager
def one_tool(kind: str, n_wafers: int) -> Iterator[tuple[Any, Any, Any, list[str]]]:
    """A simulator of one tool of `kind` at SPEED with `n_wafers` ready for it, and its driver connected
    over the real protocol: (simulated line, simulated tool, driver, wafers)."""
    tool_id = f"{kind.upper()[:3]}01"
    with simulated((tool_id, kind), speed=SPEED, seed=3) as sim:
        tool = sim.tool(tool_id)
        wafers = [f"T.{i:02d}" for i in range(1, n_wafers + 1)]
        for w in wafers:
            tool.typical_incoming(sim.world, w)
        driver = socket_driver_factory(sim, tool_id, kind)()
        driver.connect()
        yield sim, tool, driver, wafers


def job_length(kind: str, loaded: bool) -> tuple[float, float, dict]:
    """(simulated job length, the job-time model's length, the wafers' results) of one job."""
    with one_tool(kind, 3) as (_sim, tool, driver, wafers):
        try:
            recipe = body(kind)
            driver.setup("J1", wafers, recipe)
            with cpu_load() if loaded else nullcontext():
                driver.start()
                driver.wait()
            results = {r.wafer_id: {m.name: m.value for m in r.measurements} for r in driver.results()}
        finally:
            driver.close()
        job = tool.jobs["J1"]
        return job.ended_s - job.started_s, SPECS[kind].job_time_s(recipe, len(wafers), tool.options), results


@contextmanager
def nullcontext() -> Iterator[None]:
    yield


@pytest.mark.parametrize("kind", ["oven", "wet_bench", "sputter"])
def test_a_loaded_host_never_stretches_a_job_in_simulated_time(kind):
    measured, computed, loaded_results = job_length(kind, loaded=True)
    assert measured == pytest.approx(computed, rel=0.002, abs=2.0), (
        f"{kind}: the job ran {measured:.1f} simulated s under load, its model says {computed:.1f} s")
    _, _, quiet_results = job_length(kind, loaded=False)
    for wafer, values in quiet_results.items():        # and the physics is the same as on a quiet host
        for name, value in values.items():
            assert loaded_results[wafer][name] == pytest.approx(value, rel=0.01, abs=1e-6), (wafer, name)


@pytest.mark.parametrize("kind", ["oven", "wet_bench", "sputter", "plater"])
def test_a_tool_enters_its_guarded_phases_when_its_kind_says(kind, monkeypatch):
    """The host watches an interlocked tool closely only around the guarded-phase entries its kind
    expects (`KindSpec.guard_entries_s`, `line.pacing`): the simulator, reading the same facts, enters
    them then — each entry, in order, on the job's own timeline (read where the phase is set, so a
    loaded host cannot blur it)."""
    from sim_hw.tool import SimJob

    spec = SPECS[kind]
    entered: list[float] = []
    with one_tool(kind, 5) as (_sim, tool, driver, wafers):
        setattr_before = SimJob.__setattr__

        def noting_entries(job: SimJob, name: str, value: Any) -> None:
            if (name == "phase" and value in spec.guarded_phases and value != job.phase
                    and job.started_s is not None):
                entered.append(tool.now() - job.started_s)     # the job's timeline, in its own task
            setattr_before(job, name, value)

        monkeypatch.setattr(SimJob, "__setattr__", noting_entries)
        try:
            recipe = body(kind)
            driver.setup("J1", wafers, recipe)
            driver.start()
            driver.wait()
        finally:
            driver.close()
        expected = spec.guard_entries_s(recipe, len(wafers), tool.options)
    assert len(entered) == len(expected), (entered, expected)
    assert entered == pytest.approx(expected, abs=2.0), (entered, expected)
