"""Clock, world model and fault book."""
import asyncio
import time

import pytest

from drivers.spec import fault
from sim_hw.clock import VirtualClock
from sim_hw.faults import FaultBook
from sim_hw.world import Layer, WorldModel


def test_clock_runs_at_speed_and_changes_speed_without_a_jump():
    clock = VirtualClock(1000)
    w0, t0 = time.monotonic(), clock.now()
    time.sleep(0.05)
    t1, w1 = clock.now(), time.monotonic()
    # 1000 simulated seconds per wall second, whatever the machine's load made of the sleep
    assert (w1 - w0) * 1000 - 2 <= t1 - t0 <= (w1 - w0) * 1000 + 2
    before = clock.now()
    clock.set_speed(1)
    assert clock.now() == pytest.approx(before, abs=1.0)


def test_clock_sleep_is_in_simulated_seconds():
    clock = VirtualClock(600)
    start = time.monotonic()
    asyncio.run(clock.sleep(60))
    assert 0.098 < time.monotonic() - start < 10        # 60 simulated s at ×600: 0.1 wall s, never 60


def test_world_creates_incoming_wafers_and_deposits_blanket():
    world = WorldModel()
    w = world.wafer("L1.01")
    assert [l.role for l in w.regions["pad"]] == ["substrate", "pad", "native_oxide"]
    world.deposit("L1.01", ("pad", "field"), Layer("Ti", 100, "adhesion"))
    snap = world.snapshot("L1.01")["L1.01"]
    assert snap["regions"]["field"][-1]["material"] == "Ti"
    snap["regions"]["pad"].clear()  # a snapshot is a copy
    assert world.wafer("L1.01").regions["pad"]


def test_faults_are_named_one_shot_or_persistent():
    book = FaultBook("T1", [fault("arc", "", slot=(int, None), fraction=(float, 0.5)), fault("leak", "")])
    with pytest.raises(KeyError, match="unknown fault"):
        book.inject("smoke")
    with pytest.raises(KeyError, match="no parameter sloth; declared: slot, fraction"):
        book.inject("arc", sloth=2)          # a misspelt parameter is refused, not ignored
    book.inject("arc", slot="2")             # typed as declared (the CLI passes text)
    assert book.take("arc").params == {"slot": 2, "fraction": 0.5}
    assert book.take("arc") is None
    book.inject("leak", persistent=True)
    assert book.take("leak") and book.take("leak")
