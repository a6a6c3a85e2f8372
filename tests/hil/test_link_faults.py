"""Hardware-in-loop: link faults — a dropped connection and a hung tool — through the drivers against
the real simulators, on SCPI (metrology, pyvisa-py) and on Modbus TCP (wet bench, pymodbus).

An idempotent query rides out an outage inside the transport's reconnect budget; past it (or past the
reply timeout, for a hang) it is a `CommunicationLost` naming the tool, the tool runs its job on, and
the job's outcome is collected once, with no second start. A command whose outcome the link hid is
never sent again blindly.

Timing: every job is held in PROCESSING by the `stall` fault until the test releases it, so no job
ends inside a fault by chance. An outage that must outlast the driver's patience is declared far
longer than that (LONG_OUTAGE_S) and ended by the test once the driver has given up — with the
simulator's own fault action at a length of zero — so no test depends on which clock runs out first.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from drivers.base import ToolDriver
from drivers.errors import CommunicationLost, JobConflict
from drivers.jobs import JobStatus
from drivers.transport.visa import ReplyTimeout
from sim_hw.line import SimLine
from sim_hw.tool import SimTool
from sim_hw.world import Layer
from tests.hil.helpers import driver, recipe, start, wafers
from tests.support import simulated, wait_until

W = wafers(3)
FAST_REPLY_S = 0.5     # the reply timeout of drivers in tests that wait for it (a loopback answer takes ~1 ms)
LONG_OUTAGE_S = 30.0   # "longer than the driver's patience": ended by the test as soon as the driver gives up
BLIP_S = 0.5           # a drop the tool is back from long before the driver's reconnect budget runs out


@dataclass(frozen=True)
class Kind:
    tool_id: str
    kind: str
    recipe: str
    no_reply: type[CommunicationLost]   # what a query the tool never answers raises
    no_reply_says: str                  # …and how its message says so


SCPI = Kind("MET01", "metrology", "recipes/metrology/film-cu-pad.yaml", ReplyTimeout, r"no reply")
MODBUS = Kind("WET01", "wet_bench", "recipes/wet_bench/seed-etch-cu.yaml", CommunicationLost, r"(?i:no response)")


@dataclass
class Rig:
    """One simulated tool, the drivers a test made for it, and the faults it can throw at them."""
    line: SimLine
    kind: Kind
    drivers: list[ToolDriver] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.kind.tool_id

    @property
    def tool(self) -> SimTool:
        return self.line.tools[self.id]

    def body(self) -> dict[str, Any]:
        return recipe(self.kind.recipe)

    def driver(self, **kw: Any) -> ToolDriver:
        d = driver(self.line, self.id, **kw)
        self.drivers.append(d)
        return d

    def running(self, **kw: Any) -> ToolDriver:
        """A driver that set up and started J1, which the tool holds in PROCESSING until `release`."""
        return start(self.driver(**kw), self.body(), W)

    def inject(self, fault: str, **params: Any) -> None:
        """Arm a fault: it fires on the next request the tool reads."""
        self.line.call(self.line.inject, self.id, fault, **params)

    def arm_before(self, d: ToolDriver, method: str, fault: str, only: str | None = None, **params: Any) -> None:
        """Arm `fault` just before the driver's backend calls `method` (the first time, or the first
        time with first argument `only`): the next request the tool reads is what that call sends."""
        real = getattr(d.backend, method)

        def armed(*args: Any) -> Any:
            if only is None or args[0] == only:
                del d.backend.__dict__[method]          # once
                self.inject(fault, **params)
            return real(*args)

        setattr(d.backend, method, armed)

    def end_drop(self) -> None:
        """The tool takes connections again: its own drop action, zero seconds long."""
        self.line.call(self.line.servers[self.id]["main"].drop_connections, 0)

    def end_hang(self) -> None:
        """The tool answers again: its own hang action, zero seconds long."""
        self.line.call(self.line.servers[self.id]["main"].hang, 0)

    def release(self) -> None:
        """Let the held job end."""
        self.line.call(self.line.clear, self.id, "stall")

    def finished_on_tool(self, job: str = "J1") -> bool:
        return job in self.tool.jobs and self.tool.jobs[job].state == "PROCESS_COMPLETE"

    def finish(self, d: ToolDriver) -> None:
        """Release the job, follow it to its end on `d`, and check it ran once."""
        self.release()
        assert d.wait(timeout_s=30).job_state == "PROCESS_COMPLETE"
        self.assert_ran_once(d)

    def assert_ran_once(self, d: ToolDriver, job: str = "J1") -> None:
        """`d` collects the outcome of the tool's one run of `job`: every wafer processed, once."""
        assert d.state == "IDLE" and d.job_id == job
        assert [(r.wafer_id, r.status) for r in d.results()] == [(w, "PROCESSED") for w in W]
        assert list(self.tool.jobs) == [job]                     # no other job was created…
        assert self.tool.jobs[job].start_count == 1              # …and this one was started once
        for w in W:                                              # each wafer went through the tool once
            runs = [h for h in self.line.world.wafer(w).history if h.get("tool") == self.id]
            assert [(h["job"], h["status"]) for h in runs] == [(job, "PROCESSED")], (w, runs)


@contextmanager
def rig_for(kind: Kind) -> Iterator[Rig]:
    with simulated((kind.tool_id, kind.kind)) as line:
        if kind.kind == "metrology":                             # what it measures
            for w in W:
                line.world.deposit(w, ("pad", "field"), Layer("Cu", 5000.0, "rdl"))
        line.call(line.inject, kind.tool_id, "stall", job="J", persistent=True)
        rig = Rig(line, kind)
        try:
            yield rig
        finally:
            rig.end_drop()                                       # a failed test leaves no outage behind
            rig.end_hang()
            for d in rig.drivers:
                d.close()


@pytest.fixture(params=[SCPI, MODBUS], ids=lambda k: k.kind)
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    with rig_for(request.param) as r:
        yield r


@pytest.fixture
def scpi() -> Iterator[Rig]:
    with rig_for(SCPI) as r:
        yield r


@pytest.fixture
def modbus() -> Iterator[Rig]:
    with rig_for(MODBUS) as r:
        yield r


def reconnect_budget_s(d: ToolDriver) -> float:
    """How long the transport keeps reconnecting before it gives up: the sleeps between its
    attempts, reconnect_delay_s × (1 + 2 + … + reconnect_attempts)."""
    t = d.backend.transport
    return t.reconnect_delay_s * t.reconnect_attempts * (t.reconnect_attempts + 1) / 2


def answer(d: ToolDriver) -> JobStatus | None:
    """The driver's poll, or None while the tool does not answer."""
    try:
        return d.poll()
    except CommunicationLost:
        return None


# ---- dropped connections ---------------------------------------------------------------------------
def test_a_drop_well_inside_the_reconnect_budget_is_ridden_out_and_the_job_runs_once(rig):
    d = rig.running(timeout_s=FAST_REPLY_S)
    drop_s = reconnect_budget_s(d) / 3                           # an outage, yet well inside the budget
    rig.inject("drop_connection", for_s=drop_s)
    began = time.monotonic()
    status = d.poll()
    waited = time.monotonic() - began
    assert (status.job_id, status.job_state) == ("J1", "PROCESSING")
    assert d.backend.transport.reconnects >= 1
    assert waited >= drop_s, (f"answered {waited:.2f} s into a {drop_s:.2f} s drop: the tool took the "
                              "reconnection while it should refuse connections")
    rig.finish(d)


def test_a_drop_beyond_the_reconnect_budget_is_communication_lost_and_a_new_driver_reattaches(rig):
    d = rig.running(timeout_s=FAST_REPLY_S)
    assert LONG_OUTAGE_S > 4 * reconnect_budget_s(d), "the test's 'long' drop must outlast the reconnect budget"
    rig.inject("drop_connection", for_s=LONG_OUTAGE_S)
    with pytest.raises(CommunicationLost, match=rf"^{rig.id}: ") as lost:
        d.poll()
    assert lost.value.tool_id == rig.id
    rig.release()                                                # the host is cut off; the tool runs on
    wait_until(rig.finished_on_tool, 30, "the tool to finish J1 with no host connected")
    rig.end_drop()
    other = rig.driver()
    status = other.reattach("J1")
    assert (status.job_id, status.job_state) == ("J1", "PROCESS_COMPLETE")
    rig.assert_ran_once(other)


# ---- a hung tool -----------------------------------------------------------------------------------
def test_a_hang_shorter_than_the_reply_timeout_is_only_a_late_answer(rig):
    d = rig.running()                                            # the default reply timeout
    hang_s = d.backend.transport.timeout_s / 6
    rig.inject("hang", for_s=hang_s)
    began = time.monotonic()
    status = d.poll()
    waited = time.monotonic() - began
    assert (status.job_id, status.job_state) == ("J1", "PROCESSING")
    assert waited >= hang_s                                      # it was answered late…
    assert d.backend.transport.reconnects == 0                   # …on the connection it asked on: nothing lost
    rig.finish(d)


def test_a_hang_beyond_the_reply_timeout_is_a_timeout_and_afterwards_answers_are_fresh(rig):
    d = rig.running(timeout_s=FAST_REPLY_S)
    rig.inject("hang", for_s=LONG_OUTAGE_S)
    with pytest.raises(rig.kind.no_reply, match=rf"^{rig.id}: .*{rig.kind.no_reply_says}") as lost:
        d.poll()
    assert lost.value.tool_id == rig.id
    rig.end_hang()
    status = wait_until(lambda: answer(d), 30, "the driver to get answers again after the hang")
    assert (status.job_id, status.job_state) == ("J1", "PROCESSING")
    # The job ends now. The next answer must say so — not a reply the tool sent late for a query
    # the driver had already given up on.
    rig.release()
    wait_until(rig.finished_on_tool, 30, "the tool to finish J1")
    status = d.poll()
    assert status.job_state == "PROCESS_COMPLETE", (f"poll after the tool finished J1 says {status.job_state}: "
                                                    "an answer left over from the hang")
    rig.assert_ran_once(d)


def test_a_hang_a_little_past_the_reply_timeout_is_a_late_answer_taken_and_the_session_kept_in_step(scpi):
    """The answer comes after the timeout but before the `SYST:ERR?` that asks why: it is taken as
    the query's answer, and every later query still gets its own reply, never its predecessor's.
    (Were the machine so slow that the answer came within the timeout, the same checks hold.)"""
    d = scpi.running(timeout_s=FAST_REPLY_S)
    scpi.inject("hang", for_s=FAST_REPLY_S * 1.6)        # past the timeout, well inside the follow-up's
    status = d.poll()
    assert (status.job_id, status.job_state) == ("J1", "PROCESSING")
    assert d.backend.identify().serial == scpi.id          # the next answers are each the reply to their own query
    assert d.backend.info("J1").job_id == "J1"
    scpi.finish(d)


# ---- commands whose outcome the link hid -------------------------------------------------------------
def test_scpi_job_create_lost_in_a_drop_is_not_sent_again_and_is_reported_outcome_unknown(scpi):
    d = scpi.driver(timeout_s=FAST_REPLY_S)
    d.connect()
    scpi.arm_before(d, "create_job", "drop_connection", for_s=BLIP_S)   # the tool drops JOB:CRE as it reads it
    with pytest.raises(CommunicationLost, match=r"^MET01: JOB:CRE\b.*outcome unknown"):
        d.setup("J1", W, scpi.body())
    assert d.state == "IDLE"
    assert not scpi.tool.jobs                                    # the lost create did not act; nobody sent it again
    # the host sets up the same job id again: the tool has no such job, so it is created now, once
    d.setup("J1", W, scpi.body())
    d.start()
    scpi.finish(d)


def test_scpi_job_create_the_tool_hangs_on_is_not_sent_again_and_a_retry_finds_it(scpi):
    d = scpi.driver(timeout_s=FAST_REPLY_S)
    d.connect()
    scpi.arm_before(d, "create_job", "hang", for_s=LONG_OUTAGE_S)   # the tool stops answering at JOB:CRE
    with pytest.raises(CommunicationLost, match=r"^MET01: JOB:CRE\b.*outcome unknown"):
        d.setup("J1", W, scpi.body())
    assert d.state == "IDLE"
    scpi.end_hang()
    # the tool carries out the create it was holding: the outcome the host could not see was "created"
    wait_until(lambda: "J1" in scpi.tool.jobs, 10, "the tool to carry out the JOB:CRE it held")
    with pytest.raises(JobConflict, match=r"^MET01: job J1 already exists on the tool \(state WAITING_FOR_START\)"):
        d.setup("J1", W, scpi.body())                            # the job id keeps a retry from creating it twice
    assert d.reattach("J1").job_state == "WAITING_FOR_START" and d.state == "READY"
    d.start()
    scpi.finish(d)


def test_plc_command_lost_in_a_drop_is_repeated_under_its_sequence_number_and_acts_once(modbus):
    d = modbus.driver()
    d.connect()
    drop_s = reconnect_budget_s(d) / 3
    modbus.arm_before(d, "command", "drop_connection", only="CREATE_JOB", for_s=drop_s)
    d.setup("J1", W, modbus.body())      # a second CREATE_JOB would be refused (job exists): JobConflict here
    assert d.backend.transport.reconnects >= 1                   # the write was lost and sent again…
    assert list(modbus.tool.jobs) == ["J1"] and modbus.tool.jobs["J1"].state == "WAITING_FOR_START"
    d.start()
    modbus.finish(d)


def test_plc_command_whose_outcome_a_long_drop_hides_is_reported_unknown_and_never_acts_twice(modbus):
    d = modbus.driver(timeout_s=FAST_REPLY_S)
    d.connect()
    modbus.arm_before(d, "command", "drop_connection", only="CREATE_JOB", for_s=LONG_OUTAGE_S)
    with pytest.raises(CommunicationLost, match=r"^WET01: .*outcome unknown"):
        d.setup("J1", W, modbus.body())
    assert d.state == "IDLE"
    modbus.end_drop()
    # the PLC acted on the write whose reply was lost — once
    assert list(modbus.tool.jobs) == ["J1"] and modbus.tool.jobs["J1"].state == "WAITING_FOR_START"
    with pytest.raises(JobConflict, match=r"^WET01: job J1 already exists on the tool \(state WAITING_FOR_START\)"):
        d.setup("J1", W, modbus.body())
    assert d.reattach("J1").job_state == "WAITING_FOR_START" and d.state == "READY"
    d.start()
    modbus.finish(d)
