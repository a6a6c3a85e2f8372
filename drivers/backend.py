"""Backends: the wire half of a driver. A front end (`ToolDriver`) holds the logic and the state
machine; a backend turns its calls into one protocol. SCPI tools share `ScpiJobBackend`."""
from __future__ import annotations

from typing import Any, Protocol

from drivers.errors import CommandRejected, CommunicationLost, JobConflict, ToolError
from drivers.jobs import Alarm, Identity, JobStatus, body_hash, canonical_json
from drivers.scpi_client import ScpiClient
from drivers.scpi_spec import ScpiInterface
from drivers.transport.visa import VisaTransport
from drivers.vocabulary import DeviceError, JobState


class JobBackend(Protocol):
    tool_id: str
    remembers_jobs: bool
    """The tool answers for a finished job by its id after it has taken another (state, results):
    a host may then let the tool go before it has written the job's records down."""

    def open(self) -> None: ...
    def close(self) -> None: ...
    def identify(self) -> Identity: ...
    def load_recipe(self, body: dict[str, Any]) -> str: ...
    def create_job(self, job_id: str, wafers: list[str]) -> None: ...
    def start(self, job_id: str) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def abort(self) -> None: ...
    def status(self) -> JobStatus: ...
    def info(self, job_id: str) -> JobStatus: ...
    def last_job(self) -> tuple[str, str]: ...
    def results(self, job_id: str) -> list[dict[str, Any]]: ...
    def alarms(self) -> list[Alarm]: ...
    def clear_alarms(self) -> None: ...
    def maintain(self, action: str, item: str = "") -> None: ...


class ScpiJobBackend:
    """The SCPI job protocol (`drivers.scpi_jobs`) over a VISA socket."""

    remembers_jobs = True       # JOB:INFO? / JOB:RSLT? name the job

    def __init__(self, tool_id: str, address: str, interface: ScpiInterface, timeout_s: float = 3.0) -> None:
        self.tool_id = tool_id
        self.transport = VisaTransport(tool_id, address, timeout_s=timeout_s)
        self.scpi = ScpiClient(self.transport, interface)

    def open(self) -> None:
        self.transport.open()
        self.scpi.command("*CLS")

    def close(self) -> None:
        self.transport.close()

    def identify(self) -> Identity:
        return Identity(*self.scpi.query("*IDN?"))

    def load_recipe(self, body: dict[str, Any]) -> str:
        self.scpi.command("RCP:LOAD", body)
        (tool_hash,) = self.scpi.query("RCP:HASH?")
        if tool_hash != body_hash(body):
            raise ToolError(self.tool_id, f"process program corrupted in transfer: tool holds {tool_hash[:12]}, "
                                          f"sent {body_hash(body)[:12]} ({len(canonical_json(body))} bytes)")
        return tool_hash

    def create_job(self, job_id: str, wafers: list[str]) -> None:
        try:
            self.scpi.command("JOB:CRE", job_id, ";".join(wafers))
        except CommandRejected as exc:
            if exc.code == DeviceError.JOB_EXISTS:
                raise JobConflict(self.tool_id, job_id, self.info(job_id).job_state) from exc
            raise
        except CommunicationLost as lost:
            # The create may or may not have reached the tool: ask it rather than sending it twice.
            try:
                info = self.info(job_id)
            except CommunicationLost as silent:
                raise CommunicationLost(self.tool_id, f"{lost.message}; asking the tool about job {job_id} "
                                                      f"failed too ({silent.message})") from lost
            if not info.known:
                raise
            if info.job_state != JobState.WAITING_FOR_START:
                raise JobConflict(self.tool_id, job_id, info.job_state) from None

    def start(self, job_id: str) -> None:
        self.scpi.command("JOB:STAR", job_id)

    def pause(self) -> None:
        self.scpi.command("JOB:PAUS")

    def resume(self) -> None:
        self.scpi.command("JOB:CONT")

    def abort(self) -> None:
        self.scpi.command("JOB:ABOR")

    def status(self) -> JobStatus:
        return JobStatus(*self.scpi.query("JOB:STAT?"))

    def info(self, job_id: str) -> JobStatus:
        return JobStatus(*self.scpi.query("JOB:INFO?", job_id))

    def last_job(self) -> tuple[str, str]:
        job_id, state = self.scpi.query("JOB:LAST?")
        return job_id, state

    def results(self, job_id: str) -> list[dict[str, Any]]:
        (rows,) = self.scpi.query("JOB:RSLT?", job_id)
        return rows

    def alarms(self) -> list[Alarm]:
        (rows,) = self.scpi.query("ALAR:LIST?")
        fields = Alarm.__dataclass_fields__
        return [Alarm(**{k: v for k, v in row.items() if k in fields}) for row in rows]

    def clear_alarms(self) -> None:
        self.scpi.command("ALAR:CLE")

    def maintain(self, action: str, item: str = "") -> None:
        self.scpi.command("MAIN:DO", action, item or "-")

    def query(self, header: str, *args: Any) -> list[Any]:
        """Kind-specific reads (e.g. `MEAS:PRES?`)."""
        return self.scpi.query(header, *args)
