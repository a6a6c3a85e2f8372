"""The job protocol every SCPI tool kind speaks (E40-style process jobs over SCPI).

Upload a process-program body, create a job for named wafers, start, poll, pause/resume/abort,
read per-wafer results and alarms, and ask about any job the tool remembers (for reattach).
"""
from __future__ import annotations

from drivers.scpi_spec import Arg, Command, Json
from drivers.vocabulary import JobState, ToolState

TOOL_STATES = tuple(ToolState)
JOB_STATES = tuple(JobState)

STATUS_FIELDS = (
    Arg("job_id"), Arg("tool_state", choices=TOOL_STATES), Arg("job_state", choices=JOB_STATES),
    Arg("phase"), Arg("wafer_index", int), Arg("wafers_done", int), Arg("wafers_total", int),
    Arg("readings", Json),
)

JOB_COMMANDS: tuple[Command, ...] = (
    Command("SYST:STAT?", "system_state", returns=(Arg("state", choices=TOOL_STATES),), idempotent=True,
            doc="Processing state of the tool"),
    Command("RCP:LOAD", "load_recipe", params=(Arg("body", Json),), idempotent=True,
            doc="Upload a process-program body (canonical JSON); the tool checks it against its limits"),
    Command("RCP:HASH?", "recipe_hash", returns=(Arg("sha256"),), idempotent=True,
            doc="SHA-256 of the process-program body the tool holds"),
    Command("JOB:CRE", "create_job", params=(Arg("job_id"), Arg("wafers")),
            doc="Create a job for ';'-separated wafer ids; refused if the id is known"),
    Command("JOB:STAR", "start_job", params=(Arg("job_id"),), idempotent=True,
            doc="Start the job (starting a running job is a no-op)"),
    Command("JOB:PAUS", "pause_job", idempotent=True, doc="Pause after the wafer in work"),
    Command("JOB:CONT", "resume_job", idempotent=True, doc="Resume a paused job"),
    Command("JOB:ABOR", "abort_job", idempotent=True, doc="Abort the job; the wafer in work is aborted"),
    Command("JOB:STAT?", "job_status", returns=STATUS_FIELDS, idempotent=True,
            doc="Current (or last) job: state, phase, progress and live readings"),
    Command("JOB:INFO?", "job_info", params=(Arg("job_id"),), returns=STATUS_FIELDS, idempotent=True,
            doc="State of any job the tool remembers (job_state NONE if unknown)"),
    Command("JOB:LAST?", "last_job", returns=(Arg("job_id"), Arg("job_state")), idempotent=True,
            doc="The job run last (for reattach after a host crash)"),
    Command("JOB:RSLT?", "job_results", params=(Arg("job_id"),), returns=(Arg("results", Json),),
            idempotent=True, doc="Per-wafer results of a job"),
    Command("ALAR:LIST?", "alarm_list", returns=(Arg("alarms", Json),), idempotent=True,
            doc="Active alarms: ALID, name, text, job"),
    Command("ALAR:CLE", "alarm_clear", idempotent=True, doc="Acknowledge alarms (only with no job running)"),
    Command("MAIN:DO", "maintain", params=(Arg("action"), Arg("item")), idempotent=True,
            doc="Record a maintenance action done on the tool (e.g. target-change Cu): its consumable counter "
                "restarts (only with no job running)"),
)
