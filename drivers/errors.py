"""Typed errors. `BumplineError` is the root of every error the project raises on purpose, so a
caller (the CLI, a flow) can tell a refusal it should report in one line from a bug it should not
hide. Driver errors carry the tool id so policy in `line` can name the tool."""
from __future__ import annotations


class BumplineError(Exception):
    """Base of every error bumpline raises deliberately (drivers, simulators, the line)."""


class UnknownName(BumplineError, KeyError):
    """A name (tool id, tool kind, fault, command) that is not declared; the message lists the known ones."""

    def __str__(self) -> str:   # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class BadValue(BumplineError, ValueError):
    """A value (an address, a speed, a setting) that cannot be used; raised before anything acts on it.
    (Inside pydantic validators plain ValueError stays: pydantic turns it into a located problem.)"""


class ToolError(BumplineError):
    """Base class: something about one tool went wrong."""

    def __init__(self, tool_id: str, message: str) -> None:
        super().__init__(f"{tool_id}: {message}")
        self.tool_id = tool_id
        self.message = message


class CommunicationLost(ToolError):
    """The tool stopped answering, and reconnecting within the retry budget failed."""


class ToolAlarm(ToolError):
    """The tool raised an alarm that stopped processing (ALID, name and text as the tool said)."""

    def __init__(self, tool_id: str, alid: int, name: str, text: str, job_id: str | None = None) -> None:
        super().__init__(tool_id, f"alarm {alid} {name}: {text}")
        self.alid, self.name, self.text, self.job_id = alid, name, text, job_id


class InterlockViolation(ToolError):
    """A safety interlock refused an action (e.g. plasma above the base-pressure limit)."""

    def __init__(self, tool_id: str, interlock: str, detail: str) -> None:
        super().__init__(tool_id, f"interlock {interlock}: {detail}")
        self.interlock, self.detail = interlock, detail


class OutOfRange(ToolError):
    """A value is outside what the tool accepts; raised before sending when the spec knows the limit."""

    def __init__(self, tool_id: str, field: str, value: object, rule: str) -> None:
        super().__init__(tool_id, f"{field}={value!r} {rule}")
        self.field, self.value, self.rule = field, value, rule


class CommandRejected(ToolError):
    """The tool refused a command and put an error in its queue (SCPI `SYST:ERR?` code and text)."""

    def __init__(self, tool_id: str, command: str, code: int, text: str) -> None:
        super().__init__(tool_id, f"{command!r} rejected: {code} {text}")
        self.command, self.code, self.text = command, code, text


class JobConflict(ToolError):
    """The tool already knows this job id (ran or is running it): reattach instead of starting twice."""

    def __init__(self, tool_id: str, job_id: str, state: str) -> None:
        super().__init__(tool_id, f"job {job_id} already exists on the tool (state {state})")
        self.job_id, self.state = job_id, state


class InvalidTransition(ToolError):
    """The driver's state machine does not allow this command in the current state."""
