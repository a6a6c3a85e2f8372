"""SEMI state models the line tracks, as `transitions` machines; every transition is a ledger event.

E40 process job (states and numbered transitions after SEMI E40, as MosaicLib's `E040.cs` numbers them):
  #1 create → QUEUED, #2 → SETTING_UP, #3 → WAITING_FOR_START, #5 START → PROCESSING,
  #6 → PROCESS_COMPLETE, #8 → PAUSING, #9 → PAUSED, #10 RESUME → PROCESSING, #13/#14/#15 → ABORTING,
  #16 → ABORTED, #11/#12 → STOPPING, #17 → STOPPED, #18 CANCEL (while QUEUED) → ABORTED.
E10 tool state, derived from the driver's processing state (never set by hand).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from transitions import EventData, Machine

from line.ledger import models as m

E40_STATES = ("QUEUED", "SETTING_UP", "WAITING_FOR_START", "PROCESSING", "PROCESS_COMPLETE", "PAUSING", "PAUSED",
              "STOPPING", "ABORTING", "STOPPED", "ABORTED")
E40_TRANSITIONS: list[tuple[int, str, Any, str]] = [  # (number, trigger, sources, dest)
    (2, "setup", "QUEUED", "SETTING_UP"),
    (3, "ready", "SETTING_UP", "WAITING_FOR_START"),
    (5, "start", "WAITING_FOR_START", "PROCESSING"),
    (6, "complete", "PROCESSING", "PROCESS_COMPLETE"),
    (8, "pausing", "PROCESSING", "PAUSING"),
    (9, "paused", ["PROCESSING", "PAUSING"], "PAUSED"),
    (10, "resume", "PAUSED", "PROCESSING"),
    (11, "stop", ["PROCESSING", "PAUSING"], "STOPPING"),
    (12, "stop", "PAUSED", "STOPPING"),
    (13, "abort", ["SETTING_UP", "WAITING_FOR_START"], "ABORTING"),
    (14, "abort", ["PROCESSING", "PAUSING"], "ABORTING"),
    (15, "abort", ["PAUSED", "STOPPING"], "ABORTING"),
    (16, "aborted", "ABORTING", "ABORTED"),
    (17, "stopped", "STOPPING", "STOPPED"),
    (18, "cancel", "QUEUED", "ABORTED"),
]
# the tool's job state (what the tool reports) → the E40 path that reaches it from where we are
TOOL_TO_E40 = {"SETTING_UP": ["setup"], "WAITING_FOR_START": ["setup", "ready"],
               "PROCESSING": ["setup", "ready", "start", "resume"], "PAUSING": ["pausing"], "PAUSED": ["paused"],
               "PROCESS_COMPLETE": ["setup", "ready", "start", "resume", "complete"],
               "ABORTED": ["abort", "aborted"], "STOPPED": ["stop", "stopped"]}


def _e40_machine() -> Machine:
    machine = Machine(model=None, states=list(E40_STATES), initial="QUEUED", auto_transitions=False,
                      send_event=True, after_state_change="_record", before_state_change="_remember")
    for _number, trigger, sources, dest in E40_TRANSITIONS:
        machine.add_transition(trigger, sources, dest)
    return machine


E40_MACHINE = _e40_machine()
"""One machine for every job: building a machine (its states, transitions and their callbacks) per
job cost ~5 % of a 20-lot orchestrator's CPU. A plain `Machine` keeps nothing of a model's state on
itself (the state is the model's attribute), so jobs in many threads share it safely."""


class ProcessJob:
    """E40 mirror of one tool job. `on_change(source, dest, trigger, number)` records each step."""

    state: str

    def __init__(self, job_id: str, on_change: Callable[[str, str, str, int], None]) -> None:
        self.job_id = job_id
        self._on_change = on_change
        # the model keeps its triggers after it is removed (transitions documents it): the shared
        # machine holds no reference to a finished job
        E40_MACHINE.add_model(self)
        E40_MACHINE.remove_model(self)
        on_change("", "QUEUED", "create", 1)

    def _remember(self, event: EventData) -> None:
        self._source = self.state

    def _record(self, event: EventData) -> None:
        number = next(n for n, t, s, d in E40_TRANSITIONS
                      if t == event.event.name and d == self.state and self._source in ([s] if isinstance(s, str) else s))
        self._on_change(self._source, self.state, event.event.name, number)

    def follow(self, tool_job_state: str) -> None:
        """Walk the E40 machine along the tool's report, firing each transition that applies."""
        for trigger in TOOL_TO_E40.get(tool_job_state, []):
            if self.state == tool_job_state:
                return
            if getattr(self, f"may_{trigger}")():
                getattr(self, trigger)()


# lease bookkeeping and the host hanging up are events on a tool that say nothing about its state
NOT_TOOL_STATE = ("acquire", "release", "break", "lapse", "disconnect")


def last_tool_state_event(s: Session, tool_id: str, before: datetime | None = None) -> m.Event | None:
    """The newest event of a tool that says what state it is in (before `before`, if given): one
    index probe. The line view and E10 read a tool's state from here; dispatch asks the same
    question (`NOT_TOOL_STATE` too) inside its one statement per step (`line.dispatch._STANDING`)."""
    return s.scalars(last_tool_state(tool_id, m.Event, before)).first()


def last_tool_state(tool_id: str, what: Any, before: datetime | None = None) -> Select[Any]:
    """The query for `what` (the event, or some of its columns) of a tool's newest state event."""
    q = select(what).where(m.Event.entity == "tool", m.Event.entity_id == tool_id,
                           m.Event.trigger.not_in(NOT_TOOL_STATE))
    if before is not None:
        q = q.where(m.Event.at < before)
    return q.order_by(m.Event.id.desc()).limit(1)

E10 = {"OFFLINE": "NON_SCHEDULED", "IDLE": "STANDBY", "SETTING_UP": "STANDBY", "READY": "STANDBY",
       "EXECUTING": "PRODUCTIVE", "PAUSED": "STANDBY", "ALARM": "UNSCHEDULED_DOWNTIME"}


def e10_state(driver_state: str) -> str:
    """E10 basic state from the driver's processing state (EXECUTING_<phase> is PRODUCTIVE)."""
    return E10.get(driver_state.split("_")[0] if driver_state.startswith("EXECUTING") else driver_state, "STANDBY")
