"""Hardware-in-loop: the sputter driver against its simulator, over TCP through pyvisa-py."""
from __future__ import annotations

import statistics
import time

import pytest
import pyvisa

from drivers.errors import CommandRejected, CommunicationLost, InterlockViolation, JobConflict, OutOfRange, ToolAlarm
from drivers.limits import Limit
from drivers.sputter.driver import SputterDriver
from drivers.sputter.interface import LIMITS
from tests.recipes import seed
from tests.support import wait_until

WAFERS = [f"L1.{i:02d}" for i in range(1, 6)]


def driver(sim, tool="PVD01", **kw) -> SputterDriver:
    return SputterDriver(tool, f"TCPIP0::127.0.0.1::{sim.ports()[tool]}::SOCKET", **kw)


def run_job(d: SputterDriver, job="J1", wafers=WAFERS, body=None):
    d.connect()
    d.setup(job, wafers, body or seed())
    d.start()
    return d.wait()


def test_normal_run_follows_every_phase_and_reports_thickness_within_noise(sim):
    d = driver(sim)
    status = run_job(d)
    assert status.job_state == "PROCESS_COMPLETE" and d.state == "IDLE"
    visited = [c.dest for c in d.state_log]
    for phase in ("EXECUTING_PUMPDOWN", "EXECUTING_DEGAS", "EXECUTING_PRECLEAN", "EXECUTING_DEPOSIT", "EXECUTING_VENT"):
        assert phase in visited
    results = d.results()
    assert [r.status for r in results] == ["PROCESSED"] * 5
    ti = [m.value for r in results for m in r.measurements if m.name == "thickness.Ti"]
    cu = [m.value for r in results for m in r.measurements if m.name == "thickness.Cu"]
    assert all(abs(v - 100) < 100 * 0.06 for v in ti)   # 1.5 % σ noise: 4σ window
    assert all(abs(v - 300) < 300 * 0.06 for v in cu)
    assert statistics.pstdev(cu) > 0                       # noise is really there
    # the world model agrees: Ti then Cu directly on the Al pad, native oxide gone
    pad = sim.world.snapshot("L1.03")["L1.03"]["regions"]["pad"]
    assert [l["material"] for l in pad] == ["Si", "Al", "Ti", "Cu"]
    assert sim.world.wafer("L1.03").max_temperature_c == 250
    d.close()


def test_micro_arcs_are_counted_and_recovered(sim):
    sim.call(sim.inject, "PVD01", "micro_arcs", per_min=30, persistent=True)
    d = driver(sim)
    assert run_job(d).job_state == "PROCESS_COMPLETE"
    arcs = [m.value for r in d.results() for m in r.measurements if m.name == "arcs.micro"]
    assert sum(arcs) > 20 and all(r.status == "PROCESSED" for r in d.results())
    hard, micro = d.arc_counts()
    assert hard == 0 and micro == sum(arcs)


def test_hard_arc_alarms_leaves_the_layer_incomplete_and_loses_no_result(sim):
    sim.call(sim.inject, "PVD01", "hard_arc", slot=3, layer=2)
    d = driver(sim)
    d.connect()
    d.setup("J1", WAFERS, seed())
    d.start()
    with pytest.raises(ToolAlarm, match=r"2001") as info:
        d.wait()
    assert info.value.alid == 2001 and info.value.tool_id == "PVD01" and info.value.job_id == "J1"
    assert d.state == "ALARM"
    d.abort()
    statuses = [r.status for r in d.results()]
    assert statuses == ["PROCESSED", "PROCESSED", "INCOMPLETE", "NOT_PROCESSED", "NOT_PROCESSED"]
    cu = sim.world.wafer("L1.03").layers("pad", material="Cu")[0]
    assert cu.props["complete"] is False and 100 < cu.thickness_nm < 200   # half of 300 nm
    assert "L1.04" not in sim.world or not sim.world.wafer("L1.04").history
    assert d.alarms()[0].wafer_id == "L1.03"


def test_vacuum_leak_times_out_the_pumpdown_with_an_alarm(sim):
    sim.call(sim.inject, "PVD01", "vacuum_leak", torr_l_s=0.05, persistent=True)
    d = driver(sim)
    d.connect()
    d.setup("J1", WAFERS, seed())
    d.start()
    with pytest.raises(ToolAlarm, match=r"PUMPDOWN_TIMEOUT") as info:
        d.wait()
    assert info.value.name == "PUMPDOWN_TIMEOUT"
    assert d.pressure_torr() > 5e-6
    d.abort()
    assert all(r.status == "NOT_PROCESSED" for r in d.results())
    assert not any(sim.world.wafer(w).history for w in WAFERS)


def test_host_interlock_refuses_plasma_when_the_tool_interlock_is_defeated(sim):
    sim.call(sim.inject, "PVD01", "vacuum_leak", persistent=True)
    sim.call(sim.inject, "PVD01", "interlock_defeat", persistent=True)
    d = driver(sim)
    d.connect()
    d.setup("J1", WAFERS, seed())
    d.start()
    with pytest.raises(InterlockViolation, match="base pressure") as info:
        d.wait()
    assert "base pressure" in info.value.detail and info.value.tool_id == "PVD01"
    assert not d.state.endswith(("PRECLEAN", "DEPOSIT"))
    wait_until(lambda: d.backend.info("J1").job_state == "ABORTED", 30, "the driver to abort the tool's job")
    first = sim.world.wafer("L1.01")
    assert not first.layers("pad", material="Ti"), "no film may grow when the interlock trips"


def test_dropped_connection_is_survived_by_reconnecting(sim):
    d = driver(sim)
    d.connect()
    d.setup("J1", WAFERS, seed())
    d.start()
    sim.call(sim.inject, "PVD01", "drop_connection", for_s=0.6)
    status = d.wait()
    assert status.job_state == "PROCESS_COMPLETE"
    assert d.backend.transport.reconnects >= 1
    assert len(d.results()) == 5


def test_job_runs_on_when_the_host_disconnects_and_a_new_host_reattaches(sim):
    d = driver(sim)
    d.connect()
    d.setup("J1", WAFERS, seed())
    d.start()
    d.close()                      # the host goes away mid-job
    time.sleep(0.5)
    other = driver(sim)
    other.connect()
    assert other.backend.last_job()[0] == "J1"
    status = other.reattach("J1")
    assert status.job_state in ("PROCESSING", "PROCESS_COMPLETE")
    assert other.wait().job_state == "PROCESS_COMPLETE"
    assert [r.status for r in other.results()] == ["PROCESSED"] * 5
    assert sim.tools["PVD01"].jobs["J1"].start_count == 1


def test_a_known_job_id_is_never_started_twice(sim):
    d = driver(sim)
    run_job(d)
    d2 = driver(sim)
    d2.connect()
    with pytest.raises(JobConflict, match="job J1 already exists") as info:
        d2.setup("J1", WAFERS, seed())
    assert info.value.state == "PROCESS_COMPLETE"
    d2.backend.start("J1")    # START of a finished job is a no-op on the tool
    assert sim.tools["PVD01"].jobs["J1"].start_count == 1


def test_pause_parks_between_wafers_and_resume_finishes(sim):
    d = driver(sim)
    d.connect()
    d.setup("J1", WAFERS, seed())
    sim.clock.set_speed(100)                     # a wafer lasts ~1 s: the pause lands mid-lot, never late
    d.start()
    wait_until(lambda: d.poll().wafer_index >= 2, 60, "the second wafer")
    d.pause()
    wait_until(lambda: d.poll().job_state == "PAUSED", 60, "the job to park")
    assert d.state == "PAUSED"
    done = d.last_status.wafers_done
    assert 1 <= done < len(WAFERS)
    sim.clock.set_speed(600)
    time.sleep(0.4)                              # 4 simulated minutes
    assert d.poll().wafers_done == done          # nothing moves while paused
    d.resume()
    assert d.wait().job_state == "PROCESS_COMPLETE"


def test_driver_refuses_out_of_limit_recipes_before_sending(sim):
    d = driver(sim, limits={**LIMITS, "power_kw": Limit(1, 20, "kW")})
    d.connect()
    body = seed()
    body["layers"][1]["power_kw"] = 30
    with pytest.raises(OutOfRange, match=r"layers\.1\.power_kw") as info:
        d.setup("J1", WAFERS, body)
    assert "layers.1.power_kw" in info.value.field and "PVD01" in str(info.value)
    assert d.state == "IDLE"


def test_tool_refuses_a_body_beyond_its_own_limits(sim):
    """A driver configured wider than the tool still cannot make the tool run it."""
    sim.tools["PVD01"].tool_limits = {**LIMITS, "power_kw": Limit(1, 10, "kW")}
    d = driver(sim)
    d.connect()
    with pytest.raises(CommandRejected, match=r"103") as info:
        d.setup("J1", WAFERS, seed())
    assert info.value.code == 103 and "power_kw" in info.value.text
    assert "J1" not in sim.tools["PVD01"].jobs


def test_raw_scpi_errors_status_byte_and_idn(sim):
    rm = pyvisa.ResourceManager("@py")
    inst = rm.open_resource(f"TCPIP0::127.0.0.1::{sim.ports()['PVD01']}::SOCKET", read_termination="\n",
                            write_termination="\n", timeout=2000)
    assert inst.query("*IDN?").startswith("bumpline-sim,SPUTTER,PVD01")
    inst.write("BOGUS:CMD 1")
    assert int(inst.query("*STB?")) & 0b100        # EAV: error queue not empty
    assert inst.query("SYST:ERR?").startswith("-113,")
    inst.write("JOB:STAR")                           # missing parameter
    assert inst.query("SYST:ERR?").startswith("-109,")
    assert inst.query("SYST:ERR?") == '0,"No error"'
    assert inst.query("SYST:STAT?") == "IDLE"
    inst.close()


def test_connection_refused_is_a_typed_error():
    d = SputterDriver("PVD09", "TCPIP0::127.0.0.1::1::SOCKET", timeout_s=0.5)
    d.backend.transport.reconnect_attempts = 0
    with pytest.raises(CommunicationLost, match=r"\*CLS to TCPIP0::127\.0\.0\.1::1::SOCKET failed .*Connection refused") as info:
        d.connect()
    assert info.value.tool_id == "PVD09"


def test_two_hosts_have_separate_error_queues(sim):
    a, b = driver(sim), driver(sim)
    a.connect(); b.connect()
    a.backend.transport.write("NOPE")
    assert b.backend.scpi.drain_errors() == []
    assert a.backend.scpi.drain_errors()[0][0] == -113


def test_a_closed_shared_resource_manager_is_replaced_not_fatal(sim):
    """pyvisa shares one resource manager per process: if anything closes it, the next driver
    must open a new one rather than fail with 'Invalid session handle' for the rest of the run."""
    from drivers.transport.visa import resource_manager

    resource_manager().close()
    d = driver(sim)
    d.connect()
    assert d.poll().tool_state in ("IDLE", "READY")
    d.close()
