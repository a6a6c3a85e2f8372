"""Hardware-in-loop: wet bench driver ↔ simulator over Modbus TCP."""
from __future__ import annotations

import pytest

from drivers.errors import ToolAlarm
from sim_hw.world import Layer
from tests.hil.helpers import driver, recipe, start, wafers
from tests.support import simulated, wait_until

CU_ETCH = "recipes/wet_bench/seed-etch-cu.yaml"
W = wafers(4)


@pytest.fixture
def line():
    with simulated(("WET01", "wet_bench")) as sim:
        yield sim


def bumped(sim, wafer_id):
    """Ti/Cu seed everywhere, a Cu/SnAg bump on the pad (the etch mask there)."""
    sim.world.deposit(wafer_id, ("pad", "field"), Layer("Ti", 100, "adhesion"))
    sim.world.deposit(wafer_id, ("pad", "field"), Layer("Cu", 300, "seed"))
    sim.world.deposit(wafer_id, ("pad",), Layer("SnAg", 40_000, "bump"))


def test_seed_etch_clears_the_field_stops_on_ti_and_undercuts_the_bump(line):
    for w in W:
        bumped(line, w)
    d = start(driver(line, "WET01"), recipe(CU_ETCH), W)
    assert d.wait().job_state == "PROCESS_COMPLETE"
    assert {"EXECUTING_ETCH", "EXECUTING_RINSE", "EXECUTING_DRY"} <= {c.dest for c in d.state_log}
    wafer = line.world.wafer(W[0])
    assert wafer.top("field").material == "Ti"
    undercut = wafer.layers("pad", material="Cu")[0].props["undercut_um"]
    assert undercut == pytest.approx(300 / 60 * (78 - 60) / 1000, rel=0.05)   # over-etch time × rate
    m = {x.name: x.value for x in d.results()[0].measurements}
    assert m["etch.removed"] == pytest.approx(300, rel=0.01) and m["etch.undercut"] == pytest.approx(undercut, rel=0.01)


def test_exhausted_bath_under_etches(line):
    bumped(line, W[0])
    line.call(line.inject, "WET01", "exhausted_bath", activity=0.3, persistent=True)
    d = start(driver(line, "WET01"), recipe(CU_ETCH), W[:1])
    d.wait()
    cu = line.world.wafer(W[0]).top("field")
    assert cu.material == "Cu" and cu.thickness_nm == pytest.approx(300 - 0.3 * 300 * 78 / 60, rel=0.02)


def test_over_etch_doubles_the_time_and_grows_the_undercut(line):
    bumped(line, W[0])
    line.call(line.inject, "WET01", "over_etch", factor=2)
    d = start(driver(line, "WET01"), recipe(CU_ETCH), W[:1])
    d.wait()
    undercut = line.world.wafer(W[0]).layers("pad", material="Cu")[0].props["undercut_um"]
    assert undercut == pytest.approx(300 / 60 * (156 - 60) / 1000, rel=0.05)


def test_temperature_excursion_alarms_and_leaves_the_batch_incomplete(line):
    for w in W:
        bumped(line, w)
    line.call(line.inject, "WET01", "temp_excursion", c=15, c_per_s=0.5)
    d = start(driver(line, "WET01"), recipe("recipes/wet_bench/resist-strip-nmp.yaml"), W)
    with pytest.raises(ToolAlarm, match=r"TEMP_EXCURSION") as info:
        d.wait()
    assert info.value.name == "TEMP_EXCURSION" and d.state == "ALARM"
    d.abort()
    assert {r.status for r in d.results()} == {"INCOMPLETE"}


def test_selectivity_pan_attacks_exposed_cu_as_well_as_al(line):
    line.world.deposit(W[0], ("field",), Layer("Cu", 3000, "rdl"))
    d = start(driver(line, "WET01"), recipe(CU_ETCH, chemistry="pan", temperature_c=50, time_s=90), W[:1])
    d.wait()
    assert line.world.wafer(W[0]).top("field").material == "SiN"        # 3 µm Cu at 2.88 µm/min: gone in 63 s


@pytest.mark.parametrize("dry,fault,stuck", [("supercritical_co2", False, False), ("spin_dry", False, True),
                                             ("supercritical_co2", True, True)])
def test_release_front_and_stiction(line, dry, fault, stuck):
    if fault:
        line.call(line.inject, "WET01", "stiction", persistent=True)
    body = recipe("recipes/wet_bench/release-boe-cpd.yaml", dry=dry)
    with simulated(("WETX", "wet_bench"), speed=20000) as fast:
        # the sacrificial oxide lies open in the field (the release window) and sealed under PI on the pad
        fast.world.deposit(W[0], ("pad", "field"), Layer("SiO2", 2000, "sacrificial", props={"release_distance_um": 20.0}))
        fast.world.deposit(W[0], ("pad",), Layer("PI", 8000, "insulator", props={"cured": True}))
        if fault:
            fast.call(fast.inject, "WETX", "stiction", persistent=True)
        d = start(driver(fast, "WETX"), body, W[:1])
        d.wait(timeout_s=60)
        gap = fast.world.wafer(W[0]).layers("pad", role="gap")
        assert gap and gap[0].props["released"] and gap[0].props["release_um"] == 20.0
        assert bool(gap[0].props.get("stiction")) is stuck
        assert {x.name: x.value for x in d.results()[0].measurements}["release.stiction"] == float(stuck)


def test_a_sealed_sacrificial_layer_is_not_released():
    """No window: the oxide is under PI everywhere, so the bath never reaches it (product D retain)."""
    with simulated(("WETX", "wet_bench"), speed=20000) as fast:
        fast.world.deposit(W[0], ("pad", "field"), Layer("SiO2", 2000, "sacrificial", props={"release_distance_um": 20.0}))
        fast.world.deposit(W[0], ("pad", "field"), Layer("PI", 8000, "insulator", props={"cured": True}))
        d = start(driver(fast, "WETX"), recipe("recipes/wet_bench/release-boe-cpd.yaml"), W[:1])
        d.wait(timeout_s=60)
        pad = fast.world.wafer(W[0]).regions["pad"]
        assert [l.role for l in pad][-2:] == ["sacrificial", "insulator"] and "release_um" not in pad[-2].props
        assert {x.name: x.value for x in d.results()[0].measurements}["release.front"] == 0.0


def test_cold_bath_is_refused_by_the_tool_before_loading(line):
    line.call(line.inject, "WET01", "heater_failure", persistent=True)
    d = start(driver(line, "WET01"), recipe(CU_ETCH, temperature_c=40), W[:2])
    with pytest.raises(ToolAlarm, match=r"TEMP_EXCURSION") as info:
        d.wait()
    assert info.value.name == "TEMP_EXCURSION"
    d.abort()
    assert {r.status for r in d.results()} == {"NOT_PROCESSED"}


def test_host_interlock_refuses_an_off_temperature_bath_the_tool_let_through(line):
    from drivers.errors import InterlockViolation
    bumped(line, W[0])
    line.call(line.inject, "WET01", "heater_failure", persistent=True)
    line.call(line.inject, "WET01", "interlock_defeat", persistent=True)
    d = driver(line, "WET01")
    with pytest.raises(InterlockViolation, match="bath") as info:
        start(d, recipe(CU_ETCH, temperature_c=40), W[:1]).wait()
    assert "22" in info.value.detail
    # the host stopped the job: it ends ABORTED on the tool, and the wafer kept its seed and bump
    wait_until(lambda: d.backend.info("J1").job_state == "ABORTED", 30, "the tool to abort the job")
    assert {r.status for r in d.results()} <= {"NOT_PROCESSED", "ABORTED"}
    wafer = line.world.wafer(W[0])
    assert [(l.material, l.thickness_nm) for l in wafer.layers("field")][-2:] == [("Ti", 100), ("Cu", 300)]
    assert wafer.layers("pad", material="Cu")[0].thickness_nm == 300
    assert d.backend.info("J1").job_state in ("ABORTED", "PROCESSING")
