"""The driver's mirror machine: GEM processing states, guards, no shortcuts."""
import threading

import pytest
from transitions import MachineError

from drivers.states import ProcessingModel, mirror_machine
from drivers.vocabulary import JobState, ToolState


def make(guard_ok=True):
    changes = []
    model = ProcessingModel("T1", {"EXECUTING_DEPOSIT": lambda: guard_ok}, changes.append,
                            ("PUMPDOWN", "DEGAS", "DEPOSIT", "VENT"), ("DEPOSIT",))
    return model, changes


def test_normal_path_records_every_change_with_leaf_states():
    m, changes = make()
    for trig in ("connect", "setup", "setup_done", "start", "phase_PUMPDOWN", "phase_DEGAS", "phase_DEPOSIT",
                 "phase_VENT", "finish"):
        assert m.fire(trig)
    assert m.state == "IDLE"
    assert [(c.source, c.dest) for c in changes][-2:] == [("EXECUTING_DEPOSIT", "EXECUTING_VENT"),
                                                          ("EXECUTING_VENT", "IDLE")]


def test_guard_refuses_the_plasma_phase():
    m, _ = make(guard_ok=False)
    m.fire("connect"); m.fire("setup"); m.fire("setup_done"); m.fire("start"); m.fire("phase_PUMPDOWN")
    assert m.fire("phase_DEPOSIT") is False
    assert m.state == "EXECUTING_PUMPDOWN"


def test_no_auto_transitions_and_invalid_triggers_raise():
    m, _ = make()
    assert not hasattr(m, "to_EXECUTING_DEPOSIT")
    assert not any(e.startswith("to_") for e in mirror_machine(m.phases, m.guarded).events)
    with pytest.raises(MachineError, match="Can't trigger event 'start' from state.*OFFLINE"):
        m.fire("start")  # OFFLINE cannot start


def test_alarm_from_any_executing_substate_and_clear_to_idle():
    m, _ = make()
    m.fire("connect"); m.fire("setup"); m.fire("setup_done"); m.fire("start"); m.fire("phase_DEGAS")
    assert m.fire("alarm")
    assert m.state == "ALARM"
    assert m.fire("clear") and m.state == "IDLE"


def test_e40_process_job_follows_the_tool_with_numbered_transitions():
    from line.tracking import ProcessJob
    log = []
    job = ProcessJob("J1", lambda *a: log.append(a))
    for reported in ("PROCESSING", "PAUSED", "PROCESSING", "PROCESS_COMPLETE"):
        job.follow(reported)
    assert [n for *_, n in log] == [1, 2, 3, 5, 9, 10, 6] and job.state == "PROCESS_COMPLETE"
    aborted = ProcessJob("J2", lambda *a: log.append(a))
    aborted.follow("WAITING_FOR_START")
    aborted.follow("ABORTED")
    assert [n for *_, n in log[-2:]] == [13, 16]


def test_e10_is_derived_from_the_driver_state():
    from line.tracking import e10_state
    assert [e10_state(s) for s in ("EXECUTING_DEPOSIT", "ALARM", "IDLE", "OFFLINE")] == [
        "PRODUCTIVE", "UNSCHEDULED_DOWNTIME", "STANDBY", "NON_SCHEDULED"]


def _status(job_state: str, tool_state: str = "EXECUTING", phase: str = ""):
    from drivers.jobs import JobStatus
    return JobStatus("J1", tool_state, job_state, phase, 1, 0, 1, {})


def test_the_machine_follows_reports_by_its_own_rules_and_names_each_change():
    m, changes = make()
    m.fire("connect"); m.fire("setup"); m.fire("setup_done"); m.fire("start")
    assert m.fire("report", status=_status("PROCESSING", phase="DEGAS")) and m.state == "EXECUTING_DEGAS"
    assert m.fire("report", status=_status("PROCESSING", phase="DEGAS")) and len(changes) == 5      # a repeat: no change
    assert m.fire("report", status=_status("PAUSED", "PAUSED")) and m.state == "PAUSED"
    assert m.fire("report", status=_status("PAUSED", "ALARM")) and m.state == "ALARM"
    assert m.fire("report", status=_status("ABORTED", "IDLE")) and m.state == "IDLE"
    assert [c.trigger for c in changes][-4:] == ["phase_DEGAS", "pause", "alarm", "clear"]


def test_a_report_into_a_refused_guarded_phase_moves_nothing():
    m, changes = make(guard_ok=False)
    m.fire("connect"); m.fire("setup"); m.fire("setup_done"); m.fire("start")
    assert m.fire("report", status=_status("PROCESSING", phase="DEPOSIT")) is False
    assert m.state == "EXECUTING"                 # the front end sees this and trips the interlock


@pytest.mark.parametrize("job_state", list(JobState))
@pytest.mark.parametrize("tool_state", list(ToolState))
@pytest.mark.parametrize("phase", ["", "DEGAS", "DEPOSIT"])
def test_a_report_told_twice_moves_the_mirror_as_once(job_state, tool_state, phase):
    """Why the driver skips a reply whose moment it has already followed (`ToolDriver._take`): from
    every state, a report applied again leaves the mirror where the first put it, changing nothing."""
    status = _status(job_state, tool_state, phase=phase)
    for setup in (("connect",), ("connect", "setup"), ("connect", "setup", "setup_done"),
                  ("connect", "setup", "setup_done", "start"),
                  ("connect", "setup", "setup_done", "start", "phase_DEGAS"),
                  ("connect", "setup", "setup_done", "start", "phase_DEGAS", "pause"),
                  ("connect", "setup", "setup_done", "start", "phase_DEGAS", "alarm")):
        m, changes = make()
        for trig in setup:
            m.fire(trig)
        m.fire("report", status=status)
        after_once, n = m.state, len(changes)
        m.fire("report", status=status)
        assert (m.state, len(changes)) == (after_once, n), (setup, after_once)


def test_one_machine_per_thread_drives_every_model_of_a_kind_each_on_its_own_state():
    """Drivers share their kind's machine (building one per driver was ~10 % of a step's CPU); each
    thread has its own, and a model made in one thread can be driven from another."""
    a, changes_a = make()
    b, _ = make(guard_ok=False)
    assert mirror_machine(a.phases, a.guarded) is mirror_machine(b.phases, b.guarded)
    for trig in ("connect", "setup", "setup_done", "start", "phase_PUMPDOWN"):
        a.fire(trig), b.fire(trig)
    assert a.fire("phase_DEPOSIT") and not b.fire("phase_DEPOSIT")      # b's guard, not a's
    assert (a.state, b.state) == ("EXECUTING_DEPOSIT", "EXECUTING_PUMPDOWN")
    seen: list[object] = []

    def elsewhere() -> None:
        seen.append(mirror_machine(a.phases, a.guarded))
        for _ in range(200):            # both threads at once: neither sees the other's nested scope
            a.fire("report", status=_status("PROCESSING", phase="VENT"))
            a.fire("report", status=_status("PROCESSING", phase="DEPOSIT"))
    t = threading.Thread(target=elsewhere)
    t.start()
    for _ in range(200):
        b.fire("report", status=_status("PROCESSING", phase="DEGAS"))
        b.fire("report", status=_status("PROCESSING", phase="PUMPDOWN"))
    t.join()
    assert seen[0] is not mirror_machine(a.phases, a.guarded)
    assert (a.state, b.state) == ("EXECUTING_DEPOSIT", "EXECUTING_PUMPDOWN")
    assert changes_a[-1].trigger == "phase_DEPOSIT" and len(changes_a) == 6 + 400
