"""The driver's mirror of the tool: a `transitions` hierarchical machine of GEM processing states.

OFFLINE → IDLE → SETTING_UP → READY → EXECUTING → EXECUTING_<phase> (… PAUSED) → IDLE, and ALARM from
anywhere. Phases come from the kind's spec; a phase may carry a guard (an interlock): entering it
is refused when the guard says no. No `to_X()` shortcuts, so nothing bypasses a guard.

Following the tool is part of the machine, as data: the trigger `report(status=…)` has one
conditional transition per "the tool reports X while we are in Y → go to Z", tried in order (the
first whose conditions hold is taken; a `stay` rule ends the search without a change). Each rule
records the change under its own name (finish, alarm, pause, phase_<P> …), so the ledger reads the
same whichever way a change was made.

States and triggers are `StrEnum`s; the machine is built from their values, because transitions
nests a hierarchical machine's children by name (EXECUTING_DEPOSIT).

One machine per kind's phases and guards serves every driver of that kind (the state is the
model's attribute; rules and guards name the model's methods) — built per driver it was ~10 % of a
20-lot orchestrator's CPU. One per thread, because a hierarchical machine enters and leaves its
nested scopes on itself while it processes a trigger.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from transitions.extensions import HierarchicalMachine

from drivers.jobs import JobStatus
from drivers.vocabulary import JobState, ToolState


class Mirror(StrEnum):
    """The driver's view of the tool (EXECUTING has one child per phase: EXECUTING_<phase>)."""
    OFFLINE = "OFFLINE"
    IDLE = "IDLE"
    SETTING_UP = "SETTING_UP"
    READY = "READY"
    EXECUTING = "EXECUTING"
    PAUSED = "PAUSED"
    ALARM = "ALARM"


class Trigger(StrEnum):
    CONNECT = "connect"
    DISCONNECT = "disconnect"
    SETUP = "setup"
    SETUP_DONE = "setup_done"
    SETUP_FAILED = "setup_failed"
    START = "start"
    PAUSE = "pause"
    ALARM = "alarm"
    FINISH = "finish"
    CLEAR = "clear"
    ATTACH_READY = "attach_ready"
    ATTACH_PAUSED = "attach_paused"
    REPORT = "report"
    """what the tool reported (kwarg `status`): the machine decides where that puts it"""


BASE_STATES = tuple(Mirror)


@dataclass(frozen=True)
class StateChange:
    tool_id: str
    job_id: str
    source: str
    dest: str
    trigger: str


# ---- what a status report says (conditions of the `report` rules) ------------------------------
def _status(event: Any) -> JobStatus:
    return event.kwargs["status"]


def reports_alarm(event: Any) -> bool:
    s = _status(event)
    return s.tool_state == ToolState.ALARM and not s.is_final


def reports_final(event: Any) -> bool:
    return _status(event).is_final


def reports_paused(event: Any) -> bool:
    s = _status(event)
    return s.job_state in (JobState.PAUSED, JobState.PAUSING) and s.tool_state == ToolState.PAUSED


def reports_waiting(event: Any) -> bool:
    return _status(event).job_state == JobState.WAITING_FOR_START


def reports_phase(phase: str) -> Callable[[Any], bool]:
    def condition(event: Any) -> bool:
        s = _status(event)
        return s.job_state in (JobState.PROCESSING, JobState.PAUSING) and s.phase == phase
    return condition


class ProcessingModel:
    """The model object the machine drives; `state` is the driver's view of the tool. Triggers are
    fired through `fire` on this thread's machine of the model's phases (no per-model bound methods:
    the model may be driven from any thread)."""

    def __init__(self, tool_id: str, guards: dict[str, Callable[[], bool]],
                 on_change: Callable[[StateChange], None], phases: tuple[str, ...] = (),
                 guarded: tuple[str, ...] = ()) -> None:
        self.tool_id = tool_id
        self.job_id = ""
        self.state: str = Mirror.OFFLINE.value
        self.phases, self.guarded = phases, guarded
        self._guards = guards
        self._on_change = on_change
        self._source = ""
        self._named = ""

    def fire(self, trigger: str, **kwargs: Any) -> bool:
        """Fire `trigger` (False: a condition said no; MachineError: not allowed from this state)."""
        return bool(mirror_machine(self.phases, self.guarded).trigger_event(self, trigger, **kwargs))

    def may(self, trigger: str) -> bool:
        """Would `trigger` be taken now (its conditions asked)? transitions' `may_<trigger>` is this
        call bound to one machine; the model is not bound to one."""
        return bool(mirror_machine(self.phases, self.guarded)._can_trigger(self, trigger))

    def check_guard(self, event: Any) -> bool:
        guard = self._guards.get(event.transition.dest)
        return True if guard is None else bool(guard())

    def remember(self, event: Any) -> None:
        self._source = self.state  # the leaf state (a parent-level transition names only the parent)

    def record(self, event: Any) -> None:
        if event.transition.dest is None:    # a `stay` rule: the report changed nothing
            return
        name, self._named = self._named or event.event.name, ""
        self._on_change(StateChange(self.tool_id, self.job_id, self._source, self.state, name))


def named(name: str) -> Callable[[Any], None]:
    """A rule's `before` callback: its model records the change under this rule's name."""
    def before(event: Any) -> None:
        event.model._named = name
    return before


def report_rules(phases: tuple[str, ...], guarded: tuple[str, ...]) -> list[dict[str, Any]]:
    """Tool reports X while the mirror is in Y → Z, in the order they are tried."""
    M, ex = Mirror, [f"{Mirror.EXECUTING}_{p}" for p in phases]

    def rule(source: Any, dest: str | None, condition: Callable[[Any], bool], name: str = "",
             guard: bool = False) -> dict[str, Any]:
        t: dict[str, Any] = {"trigger": Trigger.REPORT.value, "source": source, "dest": dest,
                             "conditions": [condition] + (["check_guard"] if guard else [])}
        if dest is not None:
            t["before"] = [named(name)]
        return t

    rules = [
        rule(M.ALARM, None, reports_alarm),                                                 # stay
        rule([M.IDLE, M.SETTING_UP, M.READY, M.EXECUTING, M.PAUSED], M.ALARM, reports_alarm, Trigger.ALARM),
        rule(M.ALARM, M.IDLE, reports_final, Trigger.CLEAR),
        rule([M.READY, M.EXECUTING, M.PAUSED], M.IDLE, reports_final, Trigger.FINISH),
        rule([M.IDLE, M.SETTING_UP], None, reports_final),                                  # stay
        rule(M.PAUSED, None, reports_paused),                                               # stay
        rule(M.EXECUTING, M.PAUSED, reports_paused, Trigger.PAUSE),
        rule([M.IDLE, M.READY], M.PAUSED, reports_paused, Trigger.ATTACH_PAUSED),
        rule(M.IDLE, M.READY, reports_waiting, Trigger.ATTACH_READY),
    ]
    for phase, dest in zip(phases, ex, strict=False):
        rules.append(rule(dest, None, reports_phase(phase)))                                 # stay
        rules.append(rule([M.READY, M.PAUSED, M.IDLE, M.ALARM, M.EXECUTING] + [e for e in ex if e != dest], dest,
                          reports_phase(phase), f"phase_{phase}", guard=phase in guarded))
    return rules


class _Machines(threading.local):
    def __init__(self) -> None:
        self.built: dict[tuple[tuple[str, ...], tuple[str, ...]], HierarchicalMachine] = {}


_machines = _Machines()


def mirror_machine(phases: tuple[str, ...], guarded: tuple[str, ...]) -> HierarchicalMachine:
    """This thread's machine of these phases and guards, built on first use."""
    machine = _machines.built.get((phases, guarded))
    if machine is None:
        machine = _machines.built[(phases, guarded)] = build_machine(phases, guarded)
    return machine


def build_machine(phases: tuple[str, ...], guarded: tuple[str, ...]) -> HierarchicalMachine:
    M, T = Mirror, Trigger
    states: list[Any] = [s.value if s != M.EXECUTING else {"name": s.value, "children": list(phases)} for s in BASE_STATES]
    ex = [f"{M.EXECUTING}_{p}" for p in phases]
    transitions: list[dict[str, Any]] = [
        {"trigger": T.CONNECT, "source": M.OFFLINE, "dest": M.IDLE},
        {"trigger": T.DISCONNECT, "source": "*", "dest": M.OFFLINE},
        {"trigger": T.SETUP, "source": M.IDLE, "dest": M.SETTING_UP},
        {"trigger": T.SETUP_DONE, "source": M.SETTING_UP, "dest": M.READY},
        {"trigger": T.SETUP_FAILED, "source": M.SETTING_UP, "dest": M.IDLE},
        {"trigger": T.PAUSE, "source": M.EXECUTING, "dest": M.PAUSED},
        {"trigger": T.ALARM, "source": [M.IDLE, M.SETTING_UP, M.READY, M.EXECUTING, M.PAUSED], "dest": M.ALARM},
        {"trigger": T.FINISH, "source": [M.READY, M.EXECUTING, M.PAUSED], "dest": M.IDLE},
        {"trigger": T.CLEAR, "source": M.ALARM, "dest": M.IDLE},
        {"trigger": T.ATTACH_READY, "source": M.IDLE, "dest": M.READY},
        {"trigger": T.ATTACH_PAUSED, "source": [M.IDLE, M.READY, M.ALARM], "dest": M.PAUSED},
        # START is accepted into EXECUTING; the phase (and its guard) follows what the tool reports.
        {"trigger": T.START, "source": M.READY, "dest": M.EXECUTING},
    ]
    for phase, dest in zip(phases, ex, strict=False):
        sources = [M.READY, M.EXECUTING, M.PAUSED, M.IDLE, M.ALARM] + [e for e in ex if e != dest]
        t: dict[str, Any] = {"trigger": f"phase_{phase}", "source": sources, "dest": dest}
        if phase in guarded:
            t["conditions"] = "check_guard"
        transitions.append(t)
    transitions += report_rules(phases, guarded)
    return HierarchicalMachine(model=None, states=states, transitions=_plain(transitions), initial=M.OFFLINE.value,
                               auto_transitions=False, send_event=True, queued=False,
                               before_state_change="remember", after_state_change="record")


def _plain(transitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Enum members to their values: transitions treats an Enum as an enum-state, not a name."""
    def plain(v: Any) -> Any:
        if isinstance(v, StrEnum):
            return v.value
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v
    return [{k: (plain(v) if k in ("trigger", "source", "dest") else v) for k, v in t.items()} for t in transitions]
