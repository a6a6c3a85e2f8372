"""The job contract, run over every kind × every tier where it applies × every fault.

Whatever the backend — a recording mock, the simulator in process, the simulator behind its real
protocol (each vendor's) — a kind's front end must: run a job to its end with every wafer accounted
for and only declared measurements; pause and resume without losing a wafer; abort without calling
an unfinished wafer processed; after a host restart, reattach by job id and never start a job twice;
and under every fault its simulator declares, end in a typed outcome (completion, a declared alarm,
an interlock) — never a hang, a traceback or an undeclared alarm.
"""
from __future__ import annotations

import pytest

from drivers.errors import InterlockViolation, JobConflict, ToolAlarm, ToolError
from drivers.registry import SPECS
from drivers.vocabulary import JobState, WaferStatus
from tests.contract.tiers import KINDS, SPEED, TARGETS, bench, body

WAFERS = ["W1", "W2", "W3"]
EVERY_TIER = ([pytest.param("mock", k, "", id=f"mock-{k}") for k in KINDS]
              + [pytest.param("inprocess", k, "", id=f"inprocess-{k}") for k in KINDS]
              + [pytest.param("socket", k, v, id=f"socket-{k}-{v}") for k, v in TARGETS])
SIMULATED = [p for p in EVERY_TIER if p.values[0] != "mock"]
KIND_FAULTS = [pytest.param(tier, kind, vendor, f.name, id=f"{p.id}-{f.name}")
               for p in SIMULATED for tier, kind, vendor in [p.values] for f in SPECS[kind].faults]
SOCKETS = [p for p in EVERY_TIER if p.values[0] == "socket"]
LINK = pytest.mark.timeout(120)


def started(b, job: str = "J1"):
    d = b.driver
    d.connect()
    d.setup(job, WAFERS, body(d.kind))
    d.start()
    return d


def assert_complete(b, status, job: str = "J1") -> None:
    d = b.driver
    assert status.job_state == JobState.PROCESS_COMPLETE
    results = d.results()
    assert [r.wafer_id for r in results] == WAFERS
    assert all(r.status == WaferStatus.PROCESSED for r in results)
    spec = SPECS[d.kind]
    for r in results:
        for m in r.measurements:
            declared = spec.measurement(m.name)
            assert declared is not None, f"{m.name} is reported but not declared in the {d.kind} spec"
            assert declared.unit in ("", m.unit), f"{m.name} in {m.unit}, declared {declared.unit}"
    assert b.start_count(job) == 1


@pytest.mark.parametrize("tier,kind,vendor", EVERY_TIER)
def test_a_job_runs_to_its_end_with_every_wafer_accounted_for(tier: str, kind: str, vendor: str) -> None:
    with bench(tier, kind, vendor, WAFERS) as b:
        d = started(b)
        assert_complete(b, d.wait(timeout_s=60))
        assert d.state == "IDLE"


ONE_WAFER_AT_A_TIME = {k for k, spec in SPECS.items() if not spec.batch} - {"plater"}
"""kinds whose job runs its wafers one after another: a batch tool runs them together, and the
plater's cells plate the test's wafers at once"""


@pytest.mark.parametrize("tier,kind,vendor", EVERY_TIER)
def test_pause_then_resume_finishes_every_wafer(tier: str, kind: str, vendor: str) -> None:
    with bench(tier, kind, vendor, WAFERS) as b:
        if b.line:
            b.line.clock.set_speed(20)             # the first wafer outlasts the pause command
        d = started(b)
        d.pause()
        if b.line:
            b.line.clock.set_speed(SPEED)
        status = d.poll()
        for _ in range(600):                       # a batch tool finishes its batch; others park between wafers
            if status.job_state in (JobState.PAUSED, JobState.PROCESS_COMPLETE):
                break
            status = d.poll()
            __import__("time").sleep(0.01)
        if kind in ONE_WAFER_AT_A_TIME:           # it parks between wafers: else pause went unchecked
            assert status.job_state == JobState.PAUSED, f"{kind} on the {tier} tier never paused: {status}"
        if status.job_state == JobState.PAUSED:
            assert d.state == "PAUSED"
            d.resume()
        assert_complete(b, d.wait(timeout_s=60))


@pytest.mark.parametrize("tier,kind,vendor", EVERY_TIER)
def test_abort_never_reports_an_unfinished_wafer_processed(tier: str, kind: str, vendor: str) -> None:
    with bench(tier, kind, vendor, WAFERS) as b:
        if b.line:
            b.line.clock.set_speed(20)
        d = started(b)
        d.abort()
        status = d.wait(timeout_s=60)
        assert status.job_state in (JobState.ABORTED, JobState.STOPPED)
        results = d.results()
        assert not all(r.status == WaferStatus.PROCESSED for r in results)
        assert all(not r.measurements for r in results if r.status == WaferStatus.NOT_PROCESSED)


@pytest.mark.parametrize("tier,kind,vendor", EVERY_TIER)
def test_a_restarted_host_reattaches_and_never_starts_a_job_twice(tier: str, kind: str, vendor: str) -> None:
    with bench(tier, kind, vendor, WAFERS) as b:
        first = started(b)
        first.close()                              # the host died; the job runs on
        b.driver = second = b.make_driver()
        second.reattach("J1")
        with pytest.raises(JobConflict):
            second.setup("J1", WAFERS, body(kind))   # the same job id is never loaded again
        assert_complete(b, second.wait(timeout_s=60))


@pytest.mark.parametrize("tier,kind,vendor,fault", KIND_FAULTS)
def test_every_declared_fault_ends_in_a_typed_outcome(tier: str, kind: str, vendor: str, fault: str) -> None:
    spec = SPECS[kind]
    with bench(tier, kind, vendor, WAFERS) as b:
        b.line.tool("T1").faults.inject(fault)   # declared defaults
        try:
            d = started(b)
            status = d.wait(timeout_s=60)
        except ToolAlarm as alarm:
            assert alarm.name in {a.name for a in spec.all_alarms}, f"{alarm.name} is not declared for {kind}"
            assert alarm.alid == spec.alarm(alarm.name).alid
            return
        except InterlockViolation as exc:
            assert exc.interlock.endswith("-guard")
            assert exc.interlock.split("-")[0].upper() in spec.guarded_phases
            return
        assert status.is_final
        assert all(r.status in tuple(WaferStatus) for r in b.driver.results())


@LINK
@pytest.mark.parametrize("fault", ["drop_connection", "hang"])
@pytest.mark.parametrize("tier,kind,vendor", SOCKETS)
def test_a_dropped_or_silent_link_mid_job_is_ridden_out(tier: str, kind: str, vendor: str, fault: str) -> None:
    with bench(tier, kind, vendor, WAFERS) as b:
        b.line.clock.set_speed(600)                # the job outlasts the fault
        d = started(b)
        b.line.tool("T1").faults.inject(fault, for_s=0.5)
        assert_complete(b, d.wait(timeout_s=90))


@pytest.mark.parametrize("tier,kind,vendor", SIMULATED)
def test_a_stalled_job_is_followed_until_the_tool_lets_it_end(tier: str, kind: str, vendor: str) -> None:
    with bench(tier, kind, vendor, WAFERS) as b:
        b.line.tool("T1").faults.inject("stall", job="J1", persistent=True)
        d = started(b)
        with pytest.raises(ToolError, match="still PROCESSING"):
            d.wait(timeout_s=1.5)
        b.line.tool("T1").faults.clear("stall")
        assert_complete(b, d.wait(timeout_s=60))
