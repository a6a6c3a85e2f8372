"""Hardware-in-loop: oven driver ↔ oven simulator over Modbus TCP."""
from __future__ import annotations

import pytest

from drivers.errors import InterlockViolation, ToolAlarm
from sim_hw.world import Layer
from tests.hil.helpers import driver, recipe, start, wafers
from tests.support import simulated, wait_until

REFLOW = "recipes/oven/reflow-sac305.yaml"
W = wafers(3)


@pytest.fixture
def line():
    with simulated(("RFL01", "oven")) as sim:
        yield sim


def put_solder_and_resist(sim, wafer_id):
    sim.world.deposit(wafer_id, ("pad",), Layer("SnAg", 40_000, "bump"))
    sim.world.deposit(wafer_id, ("field",), Layer("AZ4620", 9_000, "resist", props={"t_limit_c": 110.0}))


def test_reflow_profile_peak_tal_and_reflow_count(line):
    for w in W:
        put_solder_and_resist(line, w)
    d = start(driver(line, "RFL01"), recipe(REFLOW), W)
    assert d.wait().job_state == "PROCESS_COMPLETE" and d.state == "IDLE"
    assert {"EXECUTING_PURGE", "EXECUTING_HEAT", "EXECUTING_COOL"} <= {c.dest for c in d.state_log}
    for r in d.results():
        m = {x.name: x.value for x in r.measurements}
        assert r.status == "PROCESSED"
        assert 235 <= m["peak"] <= 245 and 50 <= m["tal"] <= 70          # SAC305 peak and TAL windows
        assert m["o2_max_hot"] <= 500
    wafer = line.world.wafer(W[0])
    assert wafer.reflow_count == 1
    solder = wafer.layers("pad", material="SnAg")[0]
    assert solder.props["reflows"] == 1 and not solder.props.get("dewetted")
    resist = wafer.layers("field", role="resist")[0]
    assert "damaged" in resist.props                                     # 236 °C on a 110 °C resist


def test_polyimide_cures_at_350():
    with simulated(("CURE01", "oven"), speed=8000) as sim:
        sim.world.deposit("P.01", ("pad", "field"), Layer("PI", 8000, "passivation"))
        d = start(driver(sim, "CURE01"), recipe("recipes/oven/pi-cure-350.yaml"), ["P.01"])
        assert d.wait(timeout_s=60).job_state == "PROCESS_COMPLETE"
        pi = sim.world.wafer("P.01").layers("field", material="PI")[0]
        assert pi.props["cured"] and pi.props["cure_c"] == 350.0 and pi.thickness_nm == pytest.approx(6000)


def test_o2_high_during_purge_alarms_before_any_heat(line):
    line.call(line.inject, "RFL01", "o2_high", ppm=3000, persistent=True)
    d = start(driver(line, "RFL01"), recipe(REFLOW), W)
    with pytest.raises(ToolAlarm, match=r"O2_HIGH") as info:
        d.wait()
    assert info.value.name == "O2_HIGH" and d.state == "ALARM"
    d.abort()
    assert {r.status for r in d.results()} == {"NOT_PROCESSED"}
    assert line.world.wafer(W[0]).max_temperature_c == 25.0


def test_n2_loss_while_molten_dewets_the_solder(line):
    for w in W:
        put_solder_and_resist(line, w)
    # the N2 supply fails once the solder has melted (217 °C): on the simulated clock, not a race
    line.call(line.inject, "RFL01", "o2_high", ppm=3000, above_c=222, persistent=True)
    d = start(driver(line, "RFL01"), recipe(REFLOW), W)
    with pytest.raises(ToolAlarm, match=r"O2_HIGH") as info:
        d.wait()
    assert info.value.name == "O2_HIGH"
    d.abort()
    results = d.results()
    assert {r.status for r in results} == {"INCOMPLETE"}
    m = {x.name: x.value for x in results[0].measurements}
    assert m["o2_max_hot"] >= 3000 and m["peak"] >= 222                  # the O2 rose while the solder was molten
    assert line.world.wafer(W[0]).layers("pad", material="SnAg")[0].props.get("dewetted")


@pytest.mark.parametrize("fault,params", [("overshoot", {"c": 40}), ("heater_failure", {"c_per_min": 3})])
def test_zone_deviation_alarms(line, fault, params):
    line.call(line.inject, "RFL01", fault, persistent=True, **params)
    d = start(driver(line, "RFL01"), recipe(REFLOW), W)
    with pytest.raises(ToolAlarm, match=r"ZONE_DEVIATION") as info:
        d.wait()
    assert info.value.name == "ZONE_DEVIATION"
    d.abort()
    assert {r.status for r in d.results()} == {"INCOMPLETE"}


def test_host_interlock_refuses_heat_without_purge(line):
    line.call(line.inject, "RFL01", "interlock_defeat", persistent=True)
    d = driver(line, "RFL01")
    with pytest.raises(InterlockViolation, match="O2") as info:
        start(d, recipe(REFLOW), W).wait()
    assert "O2" in info.value.detail
    wait_until(lambda: d.backend.info("J1").job_state == "ABORTED")


def test_plc_reattach_and_refusals_over_modbus(line):
    d = start(driver(line, "RFL01"), recipe(REFLOW), W)
    d.close()
    other = driver(line, "RFL01")
    other.connect()
    assert other.identity.model == "OVEN"
    assert other.reattach("J1").job_state in ("PROCESSING", "PROCESS_COMPLETE")
    assert other.wait().job_state == "PROCESS_COMPLETE"
    assert line.tools["RFL01"].jobs["J1"].start_count == 1
    # a read-only register refuses writes (Modbus exception 2, ILLEGAL ADDRESS)
    from drivers.errors import CommandRejected
    with pytest.raises(CommandRejected, match="Modbus exception 2"):
        other.backend.transport.write(4, [0])


def test_setting_up_a_job_the_plc_is_running_is_a_conflict_then_a_reattach(line):
    """A resumed orchestrator sets up the job it had started: the PLC (busy, recipe locked) must
    not refuse it as a tool error — the driver sees the job is the tool's own and reattaches."""
    from drivers.errors import JobConflict

    line.call(line.inject, "RFL01", "stall", job="K1.B03.r0", persistent=True)   # PROCESSING until released
    first = start(driver(line, "RFL01"), recipe(REFLOW), W, job="K1.B03.r0")
    wait_until(lambda: first.poll().job_state == "PROCESSING")
    second = driver(line, "RFL01")
    second.connect()
    with pytest.raises(JobConflict, match="K1.B03.r0 already exists") as conflict:
        second.setup("K1.B03.r0", W, recipe(REFLOW))
    assert conflict.value.state == "PROCESSING"
    assert second.reattach("K1.B03.r0").job_id == "K1.B03.r0"
    line.call(line.clear, "RFL01", "stall")
    assert second.wait().job_state == "PROCESS_COMPLETE"
    assert line.tools["RFL01"].jobs["K1.B03.r0"].start_count == 1
    first.close()
    second.close()
