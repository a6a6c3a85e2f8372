"""Ledger tables. Every write is its own short transaction, so a kill loses at most one in-flight row."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(at: datetime) -> datetime:
    """A time read back from the ledger, aware: SQLite hands back naive UTC, PostgreSQL aware."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class Lot(Base):
    __tablename__ = "lots"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product: Mapped[str] = mapped_column(String(64), default="")
    route: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default="CREATED")  # CREATED RUNNING ON_HOLD COMPLETE ABORTED
    hold_reason: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Wafer(Base):
    __tablename__ = "wafers"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(24), default="NEEDS_PROCESSING")  # E90 processing state
    location: Mapped[str] = mapped_column(String(64), default="")


class StepRun(Base):
    __tablename__ = "step_runs"
    __table_args__ = (UniqueConstraint("lot_id", "step_id", "rework", name="uq_step_once"),
                      Index("ix_step_runs_tool_started", "tool_id", "started_at"))   # the dispatcher counts recent use
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"), index=True)
    step_id: Mapped[str] = mapped_column(String(64))
    rework: Mapped[int] = mapped_column(Integer, default=0)
    operation: Mapped[str] = mapped_column(String(64), default="")
    tool_kind: Mapped[str] = mapped_column(String(32))
    tool_id: Mapped[str] = mapped_column(String(32), default="")
    recipe_name: Mapped[str] = mapped_column(String(128))
    recipe_version: Mapped[int] = mapped_column(Integer)
    recipe_hash: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(String(128), index=True)  # a batch job: several lots' runs
    status: Mapped[str] = mapped_column(String(16), default="PENDING")  # PENDING RUNNING COMPLETE ON_HOLD ABORTED
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    flow_run_id: Mapped[str] = mapped_column(String(64), default="")
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)


class WaferResult(Base):
    __tablename__ = "wafer_results"
    __table_args__ = (UniqueConstraint("step_run_id", "wafer_id", name="uq_result_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    step_run_id: Mapped[int] = mapped_column(ForeignKey("step_runs.id"), index=True)
    wafer_id: Mapped[str] = mapped_column(ForeignKey("wafers.id"))
    status: Mapped[str] = mapped_column(String(16))  # as the tool reported it
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Measurement(Base):
    __tablename__ = "measurements"
    __table_args__ = (UniqueConstraint("step_run_id", "wafer_id", "name", name="uq_measurement_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    step_run_id: Mapped[int] = mapped_column(ForeignKey("step_runs.id"), index=True)
    wafer_id: Mapped[str] = mapped_column(ForeignKey("wafers.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16), default="")
    target: Mapped[float | None] = mapped_column(Float, nullable=True)
    lsl: Mapped[float | None] = mapped_column(Float, nullable=True)   # the limits it was judged against
    usl: Mapped[float | None] = mapped_column(Float, nullable=True)

    @property
    def passed(self) -> bool | None:
        """Within its limits (None: it had none). A value that is not a number is never within."""
        from line.spec_limits import within

        return None if self.lsl is None and self.usl is None else within(self.value, self.lsl, self.usl)


class SiteMeasurement(Base):
    """One site of a wafer map (metrology): where on the wafer, mm from its centre, and the value read."""
    __tablename__ = "site_measurements"
    __table_args__ = (UniqueConstraint("step_run_id", "wafer_id", "name", "site", name="uq_site_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    step_run_id: Mapped[int] = mapped_column(ForeignKey("step_runs.id"), index=True)
    wafer_id: Mapped[str] = mapped_column(ForeignKey("wafers.id"))
    name: Mapped[str] = mapped_column(String(64))
    site: Mapped[int] = mapped_column(Integer)
    x_mm: Mapped[float] = mapped_column(Float)
    y_mm: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16), default="")


class SpcBaseline(Base):
    """Phase-I control limits an engineer froze for (route step, measurement, tool): the chart, its
    centre and σ, from which lots (through which step run). A newer one retires it."""
    __tablename__ = "spc_baselines"
    __table_args__ = (Index("ix_spc_baselines_key", "step_id", "measurement", "tool_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    step_id: Mapped[str] = mapped_column(String(32))
    measurement: Mapped[str] = mapped_column(String(64))
    tool_id: Mapped[str] = mapped_column(String(32))
    chart: Mapped[str] = mapped_column(String(16))
    center: Mapped[float] = mapped_column(Float)
    sigma: Mapped[float] = mapped_column(Float)
    lots: Mapped[int] = mapped_column(Integer)
    first_lot: Mapped[str] = mapped_column(String(64))
    last_lot: Mapped[str] = mapped_column(String(64))
    through_step_run_id: Mapped[int] = mapped_column(Integer)   # points after this run are judged on it
    frozen_by: Mapped[str] = mapped_column(String(64))
    frozen_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    retired_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SpcFlag(Base):
    """A tool flagged by an SPC signal at one step: dispatch prefers other tools for that step until
    an engineer clears it (who, when, note)."""
    __tablename__ = "spc_flags"
    __table_args__ = (Index("ix_spc_flags_open", "tool_id", "step_id", "cleared_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tool_id: Mapped[str] = mapped_column(String(32))
    step_id: Mapped[str] = mapped_column(String(32))
    measurement: Mapped[str] = mapped_column(String(64))
    lot_id: Mapped[str] = mapped_column(String(64))
    step_run_id: Mapped[int] = mapped_column(ForeignKey("step_runs.id"))
    signal: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_by: Mapped[str] = mapped_column(String(64), default="")
    cleared_at: Mapped[datetime | None] = mapped_column(nullable=True)
    clear_note: Mapped[str] = mapped_column(Text, default="")


class Maintenance(Base):
    """A maintenance action on a tool (who, when, what to): a consumable restarted (bath-replenish,
    target-change …), or the tool taken `down` — open (`ended_at` none) until it is brought up;
    `e10` is the down's E10 state (scheduled, unscheduled downtime or engineering)."""
    __tablename__ = "maintenance"
    __table_args__ = (Index("ix_maintenance_tool", "tool_id", "ended_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tool_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    item: Mapped[str] = mapped_column(String(32), default="")
    e10: Mapped[str] = mapped_column(String(24), default="")
    by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_by: Mapped[str] = mapped_column(String(64), default="")


class R2rState(Base):
    """A run-to-run controller's estimate for one recipe version on one tool (EWMA over lots)."""
    __tablename__ = "r2r_states"
    __table_args__ = (UniqueConstraint("recipe", "tool_id", name="uq_r2r_state"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recipe: Mapped[str] = mapped_column(String(80))        # name@vN
    tool_id: Mapped[str] = mapped_column(String(32))
    knob: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(16))
    estimate: Mapped[float] = mapped_column(Float)          # b (proportional) or a (linear)
    lots: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class R2rAdjustment(Base):
    """One derived recipe: the approved parent, the knob's value sent instead of the parent's (within
    the parent's tuning bounds), the estimate it came from and the measurement that set that
    estimate; then what this lot measured and the estimate after it."""
    __tablename__ = "r2r_adjustments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(128), unique=True)
    lot_id: Mapped[str] = mapped_column(String(64), index=True)
    step_id: Mapped[str] = mapped_column(String(32))
    tool_id: Mapped[str] = mapped_column(String(32))
    recipe: Mapped[str] = mapped_column(String(80))
    parent_sha256: Mapped[str] = mapped_column(String(64))       # the approved parent's identity
    parent_body_sha256: Mapped[str] = mapped_column(String(64))
    derived_sha256: Mapped[str] = mapped_column(String(64))      # what the tool was sent
    knob: Mapped[str] = mapped_column(String(64))
    parent_value: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    clipped: Mapped[bool] = mapped_column(default=False)         # the controller wanted beyond the bounds
    target: Mapped[float] = mapped_column(Float)
    estimate: Mapped[float | None] = mapped_column(Float, nullable=True)   # none: the first lot, the parent's value
    basis_job_id: Mapped[str] = mapped_column(String(128), default="")    # whose measurement set that estimate
    basis_mean: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    measured_mean: Mapped[float | None] = mapped_column(Float, nullable=True)
    measured_n: Mapped[int] = mapped_column(Integer, default=0)
    estimate_after: Mapped[float | None] = mapped_column(Float, nullable=True)
    fed_back_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Alarm(Base):
    __tablename__ = "alarms"
    __table_args__ = (UniqueConstraint("tool_id", "alid", "job_id", "tool_time_s", name="uq_alarm_once"),
                      Index("ix_alarms_open", "tool_id", "cleared_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tool_id: Mapped[str] = mapped_column(String(32), index=True)
    alid: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    job_id: Mapped[str] = mapped_column(String(128), default="")
    wafer_id: Mapped[str] = mapped_column(String(80), default="")
    step_run_id: Mapped[int | None] = mapped_column(ForeignKey("step_runs.id"), nullable=True)
    tool_time_s: Mapped[float] = mapped_column(Float, default=0.0)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(nullable=True)   # when the tool reported it gone
    acknowledged_by: Mapped[str] = mapped_column(String(64), default="")
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ack_note: Mapped[str] = mapped_column(Text, default="")


class Hold(Base):
    __tablename__ = "holds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"), index=True)
    step_run_id: Mapped[int | None] = mapped_column(ForeignKey("step_runs.id"), nullable=True)
    reason_type: Mapped[str] = mapped_column(String(24))  # ALARM INTERLOCK OUT_OF_SPEC INTERRUPTED COMMUNICATION
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str] = mapped_column(String(24), default="")
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class Event(Base):
    """One state transition of anything tracked (tool, job, wafer, lot): the audit trail."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_entity_newest", "entity", "entity_id", "id"),)   # a thing's last state
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    entity: Mapped[str] = mapped_column(String(16))  # tool | job | wafer | lot | step
    entity_id: Mapped[str] = mapped_column(String(128), index=True)
    source: Mapped[str] = mapped_column(String(48), default="")
    dest: Mapped[str] = mapped_column(String(48), default="")
    trigger: Mapped[str] = mapped_column(String(48), default="")
    step_run_id: Mapped[int | None] = mapped_column(ForeignKey("step_runs.id"), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ToolLease(Base):
    """Who holds a tool (or, keyed `lot:<id>`, a lot's orchestrator), until when: a lock that a
    crashed holder cannot leave behind forever."""

    __tablename__ = "tool_leases"
    tool_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class DispatchRequest(Base):
    """A step waiting for a tool, as the dispatcher ranks it: the ledger, not one process, holds the
    queue, so every orchestrator of the line (any worker) sees the same order."""
    __tablename__ = "dispatch_requests"
    __table_args__ = (Index("ix_dispatch_requests_state_kind", "state", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    holder: Mapped[str] = mapped_column(String(128), unique=True)       # the step's job id
    lot_id: Mapped[str] = mapped_column(String(64))
    step_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    tools: Mapped[dict[str, Any]] = mapped_column(JSON)                  # {"ids": [...]}, in preference order
    priority: Mapped[int] = mapped_column(Integer, default=0)
    to_bottleneck: Mapped[int | None] = mapped_column(Integer, nullable=True)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)      # the queue-time limit, wall clock
    limit_s: Mapped[float | None] = mapped_column(Float, nullable=True)  # that limit's length, wall seconds
    state: Mapped[str] = mapped_column(String(16), default="WAITING")   # WAITING, GRANTED, BATCHED
    tool_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    granted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    batch_key: Mapped[str | None] = mapped_column(String(96), nullable=True)  # kind + recipe body: who may share a job
    wafer_count: Mapped[int] = mapped_column(Integer, default=0)
    member: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # what a batch leader records for it
    batch_of: Mapped[str | None] = mapped_column(String(128), nullable=True)    # BATCHED: the leader's holder


class RecipeVersion(Base):
    """A recipe or route version as first seen: its hash is fixed; approval is who and when."""

    __tablename__ = "recipe_versions"
    __table_args__ = (UniqueConstraint("doc_kind", "name", "version", name="uq_version_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    doc_kind: Mapped[str] = mapped_column(String(16))   # ToolRecipe | Route
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | approved
    approved_by: Mapped[str] = mapped_column(String(64), default="")
    approved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
