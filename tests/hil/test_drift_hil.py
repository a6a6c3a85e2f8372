"""Tools that age (the line's `simulation.drift`), driven over their real protocols: a worn sputter
target deposits thinner, a tired plating bath plates thinner and a worn anode less evenly, a loaded
stencil needs more squeegee pressure to fill — and with drift off, the same aged consumables change
nothing (today's behaviour, the paper-vs-simulator test's assumption)."""
from __future__ import annotations

import statistics

import pytest

from drivers.errors import BadValue, CommandRejected, UnknownName
from drivers.sputter import deposition as sputtering
from drivers.stencil_printer import paste as printing
from sim_hw.line import SimToolSpec
from sim_hw.plater import physics as plating
from sim_hw.world import Layer
from tests.hil.helpers import driver, recipe, start, wafers
from tests.support import simulated

W = wafers(4)


def test_the_drift_laws_are_monotone_and_bounded():
    assert sputtering.aged_rate_factor(0) == 1.0
    assert sputtering.aged_rate_factor(1000) == pytest.approx(0.94)
    assert sputtering.aged_rate_factor(5000) == pytest.approx(1 - sputtering.RATE_LOSS_AT_END_OF_LIFE)
    assert plating.aged_efficiency("Cu-acid", 0) == 0.98
    assert plating.aged_efficiency("Cu-acid", 200) == pytest.approx(0.98 * (1 - 2 * 0.015))
    assert plating.aged_efficiency("SnAg-MSA", 100) < plating.aged_efficiency("Cu-acid", 100) < 0.98
    assert plating.anode_nonuniformity_pct(300) == pytest.approx(3.0)
    assert printing.fill(0.3, 50, 0) == 1.0 and printing.fill(0.3, 50, 100) == 1.0     # the squeegee still wins
    assert printing.fill(0.3, 50, 250) == pytest.approx((0.3 / 0.4) ** 0.5)
    assert printing.fill(0.4, 50, 250) == 1.0                                           # more pressure wins it back


def cu_thickness(tool_options: dict, kwh: float = 0.0) -> list[float]:
    spec = SimToolSpec("PVD01", "sputter", options={"noise_pct": 0, **tool_options})
    with simulated(spec, speed=3000) as line:
        d = start(driver(line, "PVD01"), recipe("recipes/sputter/ti100-cu300-seed.yaml"), W)
        d.wait()
        return [{m.name: m.value for m in r.measurements}["thickness.Cu"] for r in d.results()]


def test_a_worn_target_deposits_thinner_only_with_drift_on():
    fresh = cu_thickness({"drift": True})
    worn = cu_thickness({"drift": True, "target_kwh": {"Cu": 1000}})
    ageless = cu_thickness({"drift": False, "target_kwh": {"Cu": 1000}})
    assert statistics.mean(fresh) == pytest.approx(300, rel=0.01)
    assert statistics.mean(worn) == pytest.approx(300 * 0.94, rel=0.01)
    assert ageless == pytest.approx(fresh)


def plated(options: dict) -> tuple[float, float]:
    spec = SimToolSpec("EP01", "plater", options={"cells": 4, "bath": "Cu-acid", "noise_pct": 0, **options})
    with simulated(spec, speed=3000) as line:
        for w in W:
            line.world.deposit(w, ("pad", "field"), Layer("Ti", 100, "adhesion"))
            line.world.deposit(w, ("pad", "field"), Layer("Cu", 300.0, "seed"))
            line.world.deposit(w, ("field",), Layer("AZ4620", 9000, "resist"))
        d = start(driver(line, "EP01"), recipe("recipes/plater/cu-5um-2asd-pad.yaml"), W)
        d.wait()
        rows = [r.data for r in d.results()]
        assert d.last_status.readings["anode_ah"] >= options.get("anode_ah", 0)     # read back over Modbus
        return statistics.mean(r["thickness_um"] for r in rows), statistics.mean(r["nonuniformity_pct"] for r in rows)


def test_a_tired_bath_plates_thinner_and_a_worn_anode_less_evenly_only_with_drift_on():
    fresh_t, fresh_nu = plated({"drift": True})
    tired_t, worn_nu = plated({"drift": True, "bath_ah": 200, "anode_ah": 300})
    assert fresh_t == pytest.approx(5.0, rel=0.02)
    assert tired_t == pytest.approx(fresh_t * (1 - 2 * 0.015), rel=0.003)
    assert worn_nu == pytest.approx(fresh_nu + 3.0, abs=0.05)
    # off: the aged bath and anode change nothing (the fresh one drifts by its own job's 1 A·h: ~0.02 %)
    assert plated({"drift": False, "bath_ah": 200, "anode_ah": 300}) == pytest.approx((fresh_t, fresh_nu), rel=0.005)


def test_maintenance_told_over_the_wire_restarts_each_consumable_counter():
    """SCPI (`MAIN:DO`) for the sputter cluster, the PLC's MAINTAIN command for plater and printer."""
    specs = [SimToolSpec("PVD01", "sputter", options={"target_kwh": {"Cu": 900, "Ti": 50}}),
             SimToolSpec("EP01", "plater", options={"bath_ah": 120, "anode_ah": 300}),
             SimToolSpec("SP01", "stencil_printer", options={"prints_since_clean": 180})]
    with simulated(*specs, speed=3000) as line:
        pvd, ep, sp = (driver(line, t) for t in ("PVD01", "EP01", "SP01"))
        for d in (pvd, ep, sp):
            d.connect()
        pvd.maintain("target-change", "Cu")
        assert line.tools["PVD01"].target_kwh["Cu"] == 0 and line.tools["PVD01"].target_kwh["Ti"] == 50
        ep.maintain("bath-replenish")
        assert ep.poll().readings["bath_ah"] == 0 and ep.poll().readings["anode_ah"] == 300
        ep.maintain("anode-change")
        assert ep.poll().readings["anode_ah"] == 0
        sp.maintain("stencil-wipe")
        assert sp.poll().readings["prints_since_clean"] == 0
        with pytest.raises(UnknownName, match="sputter: no maintenance action 'bath-replenish' .*target-change"):
            pvd.maintain("bath-replenish")
        with pytest.raises(BadValue, match="target-change needs the material"):
            pvd.maintain("target-change")
        # while a job runs the tool refuses: maintenance waits for it
        start(pvd, recipe("recipes/sputter/ti100-cu300-seed.yaml"), W)
        with pytest.raises(CommandRejected, match="maintenance waits"):
            pvd.maintain("target-change", "Ti")
        pvd.wait()
        pvd.maintain("target-change", "Ti")
        assert line.tools["PVD01"].target_kwh["Ti"] == 0
