"""`Ledger`: the write and read API over the ledger database (SQLite file or PostgreSQL).

Writes are idempotent where a crash and a resume could repeat them (results, measurements,
alarms are unique per step, wafer and name), so replaying what a tool reports never duplicates.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from drivers.errors import UnknownName
from drivers.jobs import WaferResult as ToolWaferResult
from line.ledger import hot_statements as hot
from line.ledger import models as m
from line.ledger.alarm_records import AlarmRecords
from line.ledger.core_rows import change_wafers, event_row, insert_events, update_wafers, wafer_column
from line.ledger.database import default_url, ensure_schema, make_engine
from line.ledger.lease_records import LeaseRecords
from line.ledger.spc_records import SpcRecords

E90_FROM_TOOL = {"PROCESSED": "PROCESSED", "INCOMPLETE": "ABORTED", "ABORTED": "ABORTED",
                 "NOT_PROCESSED": "NEEDS_PROCESSING"}

_Row = TypeVar("_Row")


class Attempt(NamedTuple):
    """A step run as the flow asks about it before each step: which run, which rework, how it ended."""
    id: int
    rework: int
    status: str


class Ledger(AlarmRecords, SpcRecords, LeaseRecords):
    def __init__(self, url: str | None = None, migrate: bool = True) -> None:
        self.url = url or default_url()
        self.engine = make_engine(self.url)
        if migrate:
            ensure_schema(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._open = threading.local()
        self.versions_seen: dict[tuple[str, str, int], m.RecipeVersion] = {}
        """recipe versions as this ledger last recorded them, by (kind, name, version): a hash never
        changes and approval is never taken back, so a step need not read them again (`recipes.identity`)"""

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction committed at the end of the block — or, inside `together()` on this
        thread, that block's transaction."""
        shared = getattr(self._open, "session", None)
        if shared is not None:
            yield shared
            return
        with self._sessions.begin() as s:
            yield s

    @staticmethod
    def must(s: Session, model: type[_Row], key: Any) -> _Row:
        """The row with this key; a row that must exist and does not is a loud error, not a None."""
        row = s.get(model, key)
        if row is None:
            raise UnknownName(f"the ledger has no {model.__name__} {key!r}")
        return row

    @contextmanager
    def together(self) -> Iterator[None]:
        """Commit the writes of the block as one transaction: for bookkeeping that happens at one
        moment with no tool command in between (a status change's job, wafer and progress records;
        a step's end). All of them are there after a crash, or none, and the tool still knows the
        job — never wrap a driver call in it. Not for writes that expect an IntegrityError."""
        if getattr(self._open, "session", None) is not None:
            yield
            return
        with self._sessions.begin() as s:
            self._open.session = s
            try:
                yield
            finally:
                self._open.session = None

    # ---- lots and wafers --------------------------------------------------------------------
    def ensure_lot(self, lot_id: str, wafer_count: int, product: str = "", route: str = "",
                   priority: int = 0) -> list[str]:
        """Create the lot and its wafers once; later calls return the same wafer ids."""
        with self.session() as s:
            lot = s.get(m.Lot, lot_id)
            if lot is None:
                s.add(m.Lot(id=lot_id, product=product, route=route, priority=priority))
                s.flush()
                for slot in range(1, wafer_count + 1):
                    s.add(m.Wafer(id=f"{lot_id}.{slot:02d}", lot_id=lot_id, slot=slot, location="stocker"))
                s.add(m.Event(entity="lot", entity_id=lot_id, dest="CREATED", trigger="create",
                              data={"wafers": wafer_count, "product": product, "route": route}))
            wafers = s.scalars(select(m.Wafer.id).where(m.Wafer.lot_id == lot_id).order_by(m.Wafer.slot)).all()
        return list(wafers)

    def lot(self, lot_id: str) -> m.Lot | None:
        with self.session() as s:
            return s.get(m.Lot, lot_id)

    def known_lot(self, lot_id: str) -> m.Lot:
        """A lot that must be in the ledger (refused loudly when it is not)."""
        with self.session() as s:
            return self.must(s, m.Lot, lot_id)

    def lots(self) -> list[m.Lot]:
        with self.session() as s:
            return list(s.scalars(select(m.Lot).order_by(m.Lot.created_at)))

    def wafers(self, lot_id: str) -> list[m.Wafer]:
        with self.session() as s:
            return list(s.scalars(hot.LOT_WAFERS, {"lot": lot_id}))

    def set_lot_status(self, lot_id: str, status: str, reason: str = "", trigger: str = "") -> None:
        with self.session() as s:
            lot = self.must(s, m.Lot, lot_id)
            if lot.status != status:
                s.add(m.Event(entity="lot", entity_id=lot_id, source=lot.status, dest=status,
                              trigger=trigger or status.lower(), data={"reason": reason} if reason else {}))
            lot.status, lot.hold_reason = status, reason

    # ---- steps ------------------------------------------------------------------------------
    def begin_step(self, lot_id: str, step_id: str, tool_kind: str, tool_id: str, recipe_name: str,
                   recipe_version: int, recipe_hash: str, job_id: str, rework: int = 0,
                   operation: str = "", flow_run_id: str = "") -> m.StepRun:
        """The step's row, created once (RUNNING); a second call returns the existing row."""
        with self.session() as s:
            existing = s.scalars(hot.STEP_RUN, {"lot": lot_id, "step": step_id, "rework": rework}).first()
            if existing:
                return existing
            run = m.StepRun(lot_id=lot_id, step_id=step_id, rework=rework, operation=operation, tool_kind=tool_kind,
                            tool_id=tool_id, recipe_name=recipe_name, recipe_version=recipe_version,
                            recipe_hash=recipe_hash, job_id=job_id, status="RUNNING", flow_run_id=flow_run_id,
                            started_at=m.utcnow(), progress={})
            s.add(run)
            s.flush()
            s.add(m.Event(entity="step", entity_id=f"{lot_id}/{step_id}", dest="RUNNING", trigger="begin",
                          step_run_id=run.id, data={"tool": tool_id, "job": job_id, "recipe": recipe_name,
                                                    "version": recipe_version, "hash": recipe_hash}))
            return run

    def find_step(self, lot_id: str, step_id: str, rework: int = 0) -> m.StepRun | None:
        with self.session() as s:
            return s.scalars(hot.STEP_RUN, {"lot": lot_id, "step": step_id, "rework": rework}).first()

    def last_attempt(self, lot_id: str, step_id: str) -> Attempt | None:
        """The step's latest run of the lot — its id, rework and status only (a row, not an ORM
        object): asked before every step, and a lot's runs carry their progress readings."""
        with self.session() as s:
            row = s.execute(hot.LAST_ATTEMPT, {"lot": lot_id, "step": step_id}).first()
        return Attempt(*row) if row is not None else None

    def step_run(self, step_run_id: int) -> m.StepRun:
        with self.session() as s:
            return self.must(s, m.StepRun, step_run_id)

    def step_runs(self, lot_id: str) -> list[m.StepRun]:
        with self.session() as s:
            return list(s.scalars(select(m.StepRun).where(m.StepRun.lot_id == lot_id).order_by(m.StepRun.id)))

    def update_progress(self, step_run_id: int, progress: dict[str, Any]) -> None:
        with self.session() as s:     # one UPDATE of the table, no read first: it runs at every status change
            s.execute(hot.PROGRESS_SET, {"run": step_run_id, "new_progress": dict(progress)})

    def finish_step(self, step_run_id: int, status: str) -> None:
        with self.session() as s:
            run = self.must(s, m.StepRun, step_run_id)
            if run.status != status:
                s.add(m.Event(entity="step", entity_id=f"{run.lot_id}/{run.step_id}", source=run.status,
                              dest=status, trigger="finish", step_run_id=run.id))
            run.status, run.ended_at = status, m.utcnow()

    # ---- what the tool reported -------------------------------------------------------------
    def record_event(self, entity: str, entity_id: str, source: str, dest: str, trigger: str,
                     step_run_id: int | None = None, data: dict[str, Any] | None = None) -> None:
        with self.session() as s:     # an INSERT, not an ORM object: it runs at every state change
            insert_events(s, [event_row(entity, entity_id, source, dest, trigger, step_run_id, data)])

    def record_results(self, step_run_id: int, tool_id: str, results: list[ToolWaferResult],
                       limits: Mapping[tuple[str, str], Any] | None = None) -> int:
        """Per-wafer results and measurements, each stored once, with the limits (`lsl`/`usl`) each was
        judged against; wafers move to their E90 state."""
        written = 0
        results_rows: list[dict[str, Any]] = []
        measurement_rows: list[dict[str, Any]] = []
        site_rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        with self.session() as s:
            have = set(s.scalars(hot.RESULTS_HELD, {"run": step_run_id}))
            was = wafer_column(s, [r.wafer_id for r in results], "state", known_only=False)
            becomes: dict[str, list[str]] = {}
            for r in results:
                if r.wafer_id in have:
                    continue
                results_rows.append({"step_run_id": step_run_id, "wafer_id": r.wafer_id, "status": r.status,
                                     "data": r.data})
                for ms in r.measurements:
                    lim = (limits or {}).get((r.wafer_id, ms.name))
                    measurement_rows.append({"step_run_id": step_run_id, "wafer_id": r.wafer_id, "name": ms.name,
                                             "value": ms.value, "unit": ms.unit, "target": ms.target,
                                             "lsl": lim.lsl if lim else None, "usl": lim.usl if lim else None})
                site_rows += [{"step_run_id": step_run_id, "wafer_id": r.wafer_id, "name": site.name,
                               "site": site.site, "x_mm": site.x_mm, "y_mm": site.y_mm, "value": site.value,
                               "unit": site.unit} for site in r.sites]
                new_state = E90_FROM_TOOL.get(r.status, "NEEDS_PROCESSING")
                if r.wafer_id in was and was[r.wafer_id] != new_state:
                    events.append(event_row("wafer", r.wafer_id, was[r.wafer_id], new_state,
                                            f"tool-{r.status.lower()}", step_run_id, {"tool": tool_id}))
                    becomes.setdefault(new_state, []).append(r.wafer_id)
                written += 1
            for state, ids in becomes.items():
                update_wafers(s, ids, state=state)
            # one multi-row INSERT per table (a metrology step maps 13 sites a wafer: ~70 rows a lot),
            # not one ORM flush per row
            for model, rows in ((m.WaferResult, results_rows), (m.Measurement, measurement_rows),
                                (m.SiteMeasurement, site_rows)):
                if rows:
                    s.execute(hot.INSERT_INTO[model], rows)
            insert_events(s, events)
        return written

    def set_wafer_state(self, wafer_ids: list[str], state: str, location: str, trigger: str,
                        step_run_id: int | None = None) -> None:
        """E90 processing-state change, with where the wafer is."""
        with self.session() as s:
            change_wafers(s, wafer_ids, "state", state, trigger, step_run_id, {"location": location}, location=location)

    def move_wafers(self, wafer_ids: list[str], location: str, trigger: str, step_run_id: int | None = None) -> None:
        """E90 location change (the processing state is left as it is)."""
        with self.session() as s:
            change_wafers(s, wafer_ids, "location", location, trigger, step_run_id, {"kind": "location"})

    def results(self, step_run_id: int) -> list[m.WaferResult]:
        with self.session() as s:
            return list(s.scalars(select(m.WaferResult).where(m.WaferResult.step_run_id == step_run_id)
                                  .order_by(m.WaferResult.wafer_id)))

    def measurements(self, step_run_id: int) -> list[m.Measurement]:
        with self.session() as s:
            return list(s.scalars(select(m.Measurement).where(m.Measurement.step_run_id == step_run_id)
                                  .order_by(m.Measurement.wafer_id, m.Measurement.id)))

    def site_measurements(self, step_run_id: int, name: str = "") -> list[m.SiteMeasurement]:
        """A step's wafer-map sites (of one measured quantity, if named), by wafer and site."""
        with self.session() as s:
            q = select(m.SiteMeasurement).where(m.SiteMeasurement.step_run_id == step_run_id)
            if name:
                q = q.where(m.SiteMeasurement.name == name)
            return list(s.scalars(q.order_by(m.SiteMeasurement.wafer_id, m.SiteMeasurement.name,
                                             m.SiteMeasurement.site)))

    def events(self, entity: str | None = None, entity_id: str | None = None,
               step_run_id: int | None = None) -> list[m.Event]:
        with self.session() as s:
            q = select(m.Event).order_by(m.Event.id)
            if entity:
                q = q.where(m.Event.entity == entity)
            if entity_id:
                q = q.where(m.Event.entity_id == entity_id)
            if step_run_id is not None:
                q = q.where(m.Event.step_run_id == step_run_id)
            return list(s.scalars(q))

    # ---- holds ------------------------------------------------------------------------------
    def open_hold(self, lot_id: str, step_run_id: int | None, reason_type: str, reason: str) -> m.Hold:
        with self.session() as s:
            hold = m.Hold(lot_id=lot_id, step_run_id=step_run_id, reason_type=reason_type, reason=reason)
            s.add(hold)
        self.set_lot_status(lot_id, "ON_HOLD", reason, trigger=f"hold-{reason_type.lower()}")
        return hold

    def holds(self, lot_id: str) -> list[m.Hold]:
        with self.session() as s:
            return list(s.scalars(select(m.Hold).where(m.Hold.lot_id == lot_id).order_by(m.Hold.id)))

    def step_by_job(self, job_id: str) -> m.StepRun | None:
        """The step run of a job id (a lease holder): its own, or the batch job it leads (`…+N`)."""
        with self.session() as s:
            return s.scalars(select(m.StepRun).where(
                (m.StepRun.job_id == job_id) | m.StepRun.job_id.startswith(job_id + "+", autoescape=True))
                .order_by(m.StepRun.id)).first()

    def rebind_job(self, step_run_id: int, job_id: str) -> None:
        """A batch step resumed alone, whose batch job never reached its tool, runs as its own job."""
        with self.session() as s:
            run = self.must(s, m.StepRun, step_run_id)
            s.add(m.Event(entity="step", entity_id=f"{run.lot_id}/{run.step_id}", dest="RUNNING", trigger="rebind-job",
                          step_run_id=run.id, data={"from": run.job_id, "job": job_id}))
            run.job_id = job_id


_shared: dict[str, Ledger] = {}
_shared_lock = threading.Lock()


def shared_ledger(url: str | None = None) -> Ledger:
    """One Ledger (engine and pool) per database per process, for callers that run often (a step
    task per step). Its schema was checked when first opened; never dispose it."""
    key = url or default_url()
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Ledger(key)
        return _shared[key]


def forget_shared(url: str) -> None:
    """Drop the process's shared Ledger of `url` (a test that recreated its schema)."""
    with _shared_lock:
        if (ledger := _shared.pop(url, None)) is not None:
            ledger.dispose()
