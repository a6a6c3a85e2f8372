"""The words every protocol shares, independent of SCPI, Modbus or a simulator: the tool's and the
job's states (SEMI E40-style), a wafer's status in a job, and the device error codes a tool answers
with. The SCPI command set, the PLC register map, the drivers and the simulators all read these.

`StrEnum`: a member is its own wire text (`ToolState.IDLE == "IDLE"`), so a state crosses a socket,
a register's enum table and the ledger unchanged, and a typo is a NameError, not a silent mismatch.
"""
from __future__ import annotations

from enum import IntEnum, StrEnum


class ToolState(StrEnum):
    """What the tool says it is doing (`SYST:STAT?`, register `tool_state`)."""
    IDLE = "IDLE"
    SETTING_UP = "SETTING_UP"
    READY = "READY"
    EXECUTING = "EXECUTING"
    PAUSED = "PAUSED"
    ALARM = "ALARM"


class JobState(StrEnum):
    """A process job's state on the tool; NONE: the tool does not know the job."""
    NONE = "NONE"
    SETTING_UP = "SETTING_UP"
    WAITING_FOR_START = "WAITING_FOR_START"
    PROCESSING = "PROCESSING"
    PAUSING = "PAUSING"
    PAUSED = "PAUSED"
    PROCESS_COMPLETE = "PROCESS_COMPLETE"
    STOPPED = "STOPPED"
    ABORTED = "ABORTED"


FINAL_JOB_STATES = frozenset({JobState.PROCESS_COMPLETE, JobState.STOPPED, JobState.ABORTED})


class WaferStatus(StrEnum):
    """One wafer's outcome in one job."""
    NOT_PROCESSED = "NOT_PROCESSED"
    IN_PROCESS = "IN_PROCESS"
    PROCESSED = "PROCESSED"
    INCOMPLETE = "INCOMPLETE"
    ABORTED = "ABORTED"


class DeviceError(IntEnum):
    """Device-specific error codes every tool answers with (SCPI error queue, PLC ACK_CODE),
    and the standard SCPI ones a simulator also answers with (IEEE 488.2 / SCPI-99 error numbers)."""
    JOB_EXISTS = 101
    NO_RECIPE = 102
    RECIPE_LIMIT = 103
    BUSY = 104
    UNKNOWN_JOB = 105
    ALARM_ACTIVE = 106
    PARAMETER_NOT_ALLOWED = -108
    MISSING_PARAMETER = -109
    UNDEFINED_HEADER = -113
    EXECUTION = -200
    SETTINGS_CONFLICT = -221
    OUT_OF_RANGE = -222
    ILLEGAL_VALUE = -224
    QUEUE_OVERFLOW = -350


ERROR_TEXT: dict[int, str] = {DeviceError.JOB_EXISTS: "job id exists", DeviceError.NO_RECIPE: "no recipe loaded",
              DeviceError.RECIPE_LIMIT: "recipe outside tool limits", DeviceError.BUSY: "tool busy",
              DeviceError.UNKNOWN_JOB: "unknown job", DeviceError.ALARM_ACTIVE: "alarm active; acknowledge first",
              DeviceError.EXECUTION: "execution error", DeviceError.SETTINGS_CONFLICT: "settings conflict",
              DeviceError.OUT_OF_RANGE: "data out of range", DeviceError.ILLEGAL_VALUE: "illegal parameter value"}
