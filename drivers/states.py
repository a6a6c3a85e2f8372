"""The driver's mirror of the tool: a `transitions` hierarchical machine of GEM processing states.

OFFLINE → IDLE → SETTING_UP → READY → EXECUTING → EXECUTING_<phase> (… PAUSED) → IDLE, and ALARM from
anywhere. Phases come from the kind's interface spec; a phase may carry a guard (an interlock):
entering it is refused when the guard says no. No `to_X()` shortcuts, so nothing bypasses a guard.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from transitions.extensions import HierarchicalMachine

BASE_STATES = ("OFFLINE", "IDLE", "SETTING_UP", "READY", "EXECUTING", "PAUSED", "ALARM")


@dataclass(frozen=True)
class StateChange:
    tool_id: str
    job_id: str
    source: str
    dest: str
    trigger: str


class ProcessingModel:
    """The model object the machine decorates; `state` is the driver's view of the tool."""

    state: str

    def __init__(self, tool_id: str, guards: dict[str, Callable[[], bool]],
                 on_change: Callable[[StateChange], None]) -> None:
        self.tool_id = tool_id
        self.job_id = ""
        self._guards = guards
        self._on_change = on_change

    def check_guard(self, event) -> bool:  # noqa: ANN001 - transitions EventData
        guard = self._guards.get(event.transition.dest)
        return True if guard is None else bool(guard())

    def remember(self, event) -> None:  # noqa: ANN001
        self._source = self.state  # the leaf state (a parent-level transition names only the parent)

    def record(self, event) -> None:  # noqa: ANN001
        self._on_change(StateChange(self.tool_id, self.job_id, self._source, self.state, event.event.name))


def build_machine(model: ProcessingModel, phases: tuple[str, ...], guarded: tuple[str, ...]) -> HierarchicalMachine:
    states = [s if s != "EXECUTING" else {"name": "EXECUTING", "children": list(phases)} for s in BASE_STATES]
    ex = [f"EXECUTING_{p}" for p in phases]
    transitions = [
        {"trigger": "connect", "source": "OFFLINE", "dest": "IDLE"},
        {"trigger": "disconnect", "source": "*", "dest": "OFFLINE"},
        {"trigger": "setup", "source": "IDLE", "dest": "SETTING_UP"},
        {"trigger": "setup_done", "source": "SETTING_UP", "dest": "READY"},
        {"trigger": "setup_failed", "source": "SETTING_UP", "dest": "IDLE"},
        {"trigger": "pause", "source": "EXECUTING", "dest": "PAUSED"},
        {"trigger": "alarm", "source": ["IDLE", "SETTING_UP", "READY", "EXECUTING", "PAUSED"], "dest": "ALARM"},
        {"trigger": "finish", "source": ["READY", "EXECUTING", "PAUSED"], "dest": "IDLE"},
        {"trigger": "clear", "source": "ALARM", "dest": "IDLE"},
        {"trigger": "attach_ready", "source": "IDLE", "dest": "READY"},
        {"trigger": "attach_paused", "source": ["IDLE", "READY", "ALARM"], "dest": "PAUSED"},
    ]
    for phase, dest in zip(phases, ex):
        sources = ["READY", "EXECUTING", "PAUSED", "IDLE", "ALARM"] + [e for e in ex if e != dest]
        t = {"trigger": f"phase_{phase}", "source": sources, "dest": dest}
        if phase in guarded:
            t["conditions"] = "check_guard"
        transitions.append(t)
    # START is accepted into EXECUTING; the phase (and its guard) follows what the tool reports.
    transitions.append({"trigger": "start", "source": "READY", "dest": "EXECUTING"})
    return HierarchicalMachine(model=model, states=states, transitions=transitions, initial="OFFLINE",
                               auto_transitions=False, send_event=True, queued=False,
                               before_state_change="remember", after_state_change="record")
