"""Hardware-in-loop: plater driver ↔ simulator — the bath PLC over Modbus, every cell's rectifier over SCPI."""
from __future__ import annotations

import pytest

from drivers.errors import CommandRejected, InterlockViolation, ToolAlarm
from sim_hw.line import SimToolSpec
from sim_hw.world import Layer
from tests.hil.helpers import driver, recipe, start, wafers
from tests.support import simulated, wait_until

CU = "recipes/plater/cu-5um-2asd-pad.yaml"
W = wafers(6)


def seeded(sim, wafer_id, cu_nm=300.0, mold=True):
    sim.world.deposit(wafer_id, ("pad", "field"), Layer("Ti", 100, "adhesion"))
    sim.world.deposit(wafer_id, ("pad", "field"), Layer("Cu", cu_nm, "seed"))
    if mold:
        sim.world.deposit(wafer_id, ("field",), Layer("AZ4620", 9000, "resist"))


@pytest.fixture
def line():
    with simulated(SimToolSpec("EP01", "plater", options={"cells": 4, "bath": "Cu-acid"})) as sim:
        for w in W:
            seeded(sim, w)
        yield sim


def test_cells_plate_in_parallel_to_faraday_thickness_in_the_openings_only(line):
    d = start(driver(line, "EP01"), recipe(CU), W)
    seen_busy = 0

    def watch(status):
        nonlocal seen_busy
        seen_busy = max(seen_busy, status.readings.get("cells_busy", 0))
    assert d.wait(on_status=watch).job_state == "PROCESS_COMPLETE"
    assert seen_busy >= 3                                        # wafers ran side by side
    for r in d.results():
        m = {x.name: x for x in r.measurements}
        assert m["plated.thickness"].value == pytest.approx(5.0, rel=0.02)     # 2 ASD × 11.6 min × 98 %
        assert m["plated.current"].value == pytest.approx(2 * 70.7 / 100, rel=0.01)
    wafer = line.world.wafer(W[0])
    assert wafer.top("pad").material == "Cu" and wafer.top("pad").role == "bump_pad"
    assert wafer.top("field").role == "resist"                   # nothing grew on the mold
    assert {r.data["cell"] for r in d.results()} == {1.0, 2.0, 3.0, 4.0}


def test_rectifiers_are_read_over_scpi_and_locked_during_a_job(line):
    line.clock.set_speed(20)            # 696 s of plating last 35 s of wall time: the checks never race it
    d = start(driver(line, "EP01"), recipe(CU), W[:4])
    wait_until(lambda: d.poll().phase == "PLATE")
    wait_until(lambda: any(c["current_a"] > 1 for c in d.cell_readings().values()))
    cells = d.cell_readings()
    busy = [c for c in cells.values() if c["output"]]
    assert busy and all(c["current_a"] == pytest.approx(1.414, rel=0.01) for c in busy)
    assert all(0.3 < c["voltage_v"] < 1.0 for c in busy)
    with pytest.raises(CommandRejected, match="-221") as info:
        d.rectifiers["cell1"].command("SOUR:CURR", 5.0)
    assert info.value.code == -221
    line.clock.set_speed(600)
    d.wait()


def test_thin_seed_plates_centre_thin():
    with simulated(SimToolSpec("EP02", "plater", options={"cells": 2})) as sim:
        seeded(sim, "T.01", cu_nm=50.0)
        d = start(driver(sim, "EP02"), recipe(CU), ["T.01"])
        d.wait()
        nu = {m.name: m.value for m in d.results()[0].measurements}["plated.nonuniformity"]
        assert nu > 10
        assert sim.world.wafer("T.01").top("pad").props["nonuniformity_pct"] == pytest.approx(nu)


def test_no_seed_no_deposit_and_no_current():
    with simulated(SimToolSpec("EP03", "plater", options={"cells": 1})) as sim:
        d = start(driver(sim, "EP03"), recipe(CU), ["N.01"])       # bare incoming wafer
        with pytest.raises(ToolAlarm, match=r"NO_CURRENT") as info:
            d.wait()
        assert info.value.name == "NO_CURRENT"
        assert not sim.world.wafer("N.01").layers("pad", material="Cu")


def test_anode_passivation_climbs_to_compliance(line):
    line.call(line.inject, "EP01", "anode_passivation", cell=2, persistent=True)
    d = start(driver(line, "EP01"), recipe(CU), W)
    with pytest.raises(ToolAlarm, match=r"COMPLIANCE") as info:
        d.wait()
    assert info.value.name == "COMPLIANCE"
    wait_until(lambda: d.poll().job_state == "PAUSED")             # running cells finish, no new wafers start
    alarmed_wafer = d.alarms()[0].wafer_id                       # the PLC's alarm names the slot
    d.abort()
    by_cell = {r.data.get("cell"): r for r in d.results() if r.status != "NOT_PROCESSED"}
    assert by_cell[2.0].wafer_id == alarmed_wafer
    assert by_cell[2.0].status == "INCOMPLETE" and by_cell[2.0].data["voltage_max_v"] == pytest.approx(10.0)
    assert by_cell[2.0].data["thickness_um"] < 5.0 * 0.98


def test_contact_failure_gives_no_current(line):
    line.call(line.inject, "EP01", "contact_failure", cell=1, persistent=True)
    d = start(driver(line, "EP01"), recipe(CU), W[:1])
    with pytest.raises(ToolAlarm, match=r"NO_CURRENT") as info:
        d.wait()
    assert info.value.name == "NO_CURRENT" and d.alarms()[0].wafer_id == W[0]


def test_bath_temperature_drift_alarms(line):
    line.call(line.inject, "EP01", "bath_temp_drift", c_per_min=2.0, persistent=True)
    d = start(driver(line, "EP01"), recipe(CU), W)
    with pytest.raises(ToolAlarm, match=r"TEMP_OUT_OF_BAND") as info:
        d.wait()
    assert info.value.name == "TEMP_OUT_OF_BAND"


def test_low_level_interlock_switches_every_rectifier_off(line):
    # the level drops while the cells plate: on the simulated clock, not a race with the test's polls
    line.call(line.inject, "EP01", "low_level", pct=60, during="PLATE", persistent=True)
    d = start(driver(line, "EP01"), recipe(CU), W[:4])
    with pytest.raises((ToolAlarm, InterlockViolation), match="LOW_LEVEL|level"):
        d.wait()
    wait_until(lambda: not any(c["output"] for c in d.cell_readings().values()))
    assert any(a.name == "LOW_LEVEL" for a in d.alarms())
    d.abort()
    assert any(r.status == "INCOMPLETE" for r in d.results())


def test_recipe_for_another_bath_is_refused(line):
    d = driver(line, "EP01")
    d.connect()
    with pytest.raises(CommandRejected, match="Cu-acid") as info:
        d.setup("J1", W[:1], recipe("recipes/plater/ni-3um-2asd-pad.yaml"))
    assert "Cu-acid" in info.value.text and d.state == "IDLE"


def test_dummy_plate_on_an_idle_cell_counts_bath_ampere_hours(line):
    d = driver(line, "EP01")
    d.connect()
    before = d.poll().readings.get("bath_ah") if d.job_id else d.backend.status().readings["bath_ah"]
    reading = d.dummy_plate("cell3", amps=5.0, seconds=360)
    assert not reading["output"]
    after = d.backend.status().readings["bath_ah"]
    assert after - before == pytest.approx(5.0 * 360 / 3600, rel=0.02)
