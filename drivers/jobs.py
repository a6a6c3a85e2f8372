"""What a tool reports about jobs, wafers and alarms: small typed records, JSON-friendly."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from drivers.vocabulary import FINAL_JOB_STATES, JobState


def canonical_json(body: Any) -> str:
    """The one byte form of a process-program body: sorted keys, no spaces."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def body_hash(body: Any) -> str:
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


@dataclass(frozen=True)
class Identity:
    maker: str
    model: str
    serial: str
    firmware: str


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    tool_state: str
    job_state: str
    phase: str
    wafer_index: int
    wafers_done: int
    wafers_total: int
    readings: dict[str, Any] = field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        return self.job_state in FINAL_JOB_STATES

    @property
    def moment(self) -> tuple[str, str, str, int, int]:
        """What a reply tells that can change a record: the job's and tool's state, the phase, the
        wafer begun, the wafers done (readings alone change nothing recorded)."""
        return self.job_state, self.tool_state, self.phase, self.wafer_index, self.wafers_done

    @property
    def known(self) -> bool:
        return self.job_state != JobState.NONE


@dataclass(frozen=True)
class Alarm:
    alid: int
    name: str
    text: str
    job_id: str = ""
    wafer_id: str = ""
    at_s: float = 0.0


@dataclass(frozen=True)
class Measurement:
    name: str
    value: float
    unit: str
    target: float | None = None


@dataclass(frozen=True)
class SiteReading:
    """One site of a wafer map as the tool reports it: where (mm from the wafer's centre, notch down)
    and what it read there."""
    name: str
    site: int
    x_mm: float
    y_mm: float
    value: float
    unit: str


@dataclass(frozen=True)
class WaferResult:
    """One wafer's outcome as the tool reports it. status: PROCESSED | INCOMPLETE | ABORTED | NOT_PROCESSED."""

    wafer_id: str
    slot: int
    status: str
    measurements: tuple[Measurement, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    sites: tuple[SiteReading, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
