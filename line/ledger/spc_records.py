"""The ledger's SPC: baselines an engineer freezes (one active per step × measurement × tool, a newer
one retiring it), the values a control chart plots (processed wafers only), and the flags an SPC
signal raises on a tool until an engineer clears them. A mixin of `Ledger`."""
from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from line.ledger import models as m


@dataclass(frozen=True)
class RunValues:
    """One step run's values of a measurement (its processed wafers', by wafer)."""
    step_run_id: int
    lot_id: str
    rework: int
    values: tuple[float, ...]

    @property
    def label(self) -> str:
        return self.lot_id if not self.rework else f"{self.lot_id} (rework {self.rework})"


class SpcRecords:
    def session(self) -> AbstractContextManager[Session]:
        """One transaction (Ledger's)."""
        raise NotImplementedError

    def freeze_baseline(self, row: m.SpcBaseline) -> m.SpcBaseline:
        """Store a baseline, retiring the one it replaces, in one transaction."""
        with self.session() as s:
            for old in s.scalars(select(m.SpcBaseline).where(
                    m.SpcBaseline.step_id == row.step_id, m.SpcBaseline.measurement == row.measurement,
                    m.SpcBaseline.tool_id == row.tool_id, m.SpcBaseline.retired_at.is_(None))):
                old.retired_at = m.utcnow()
            s.add(row)
            s.flush()
            s.add(m.Event(entity="spc", entity_id=f"{row.step_id}/{row.measurement}/{row.tool_id}", source="",
                          dest="BASELINED", trigger="freeze", data={"baseline": row.id, "by": row.frozen_by}))
        return row

    def spc_baseline(self, step_id: str, measurement: str, tool_id: str) -> m.SpcBaseline | None:
        with self.session() as s:
            return s.scalars(select(m.SpcBaseline).where(
                m.SpcBaseline.step_id == step_id, m.SpcBaseline.measurement == measurement,
                m.SpcBaseline.tool_id == tool_id, m.SpcBaseline.retired_at.is_(None))).first()

    def spc_baselines(self) -> list[m.SpcBaseline]:
        """Every active baseline."""
        with self.session() as s:
            return list(s.scalars(select(m.SpcBaseline).where(m.SpcBaseline.retired_at.is_(None))
                                  .order_by(m.SpcBaseline.step_id, m.SpcBaseline.measurement, m.SpcBaseline.tool_id)))

    def run_values(self, step_id: str, measurement: str, tool_id: str, after_run: int = 0,
                   through_run: int | None = None, newest: int | None = None) -> list[RunValues]:
        """Each step run's values at this step on this tool (oldest first): processed wafers only,
        runs with none left out; `newest` keeps the last so many."""
        with self.session() as s:
            runs = select(m.StepRun.id).where(m.StepRun.step_id == step_id, m.StepRun.tool_id == tool_id,
                                              m.StepRun.id > after_run)
            if through_run is not None:
                runs = runs.where(m.StepRun.id <= through_run)
            rows = s.execute(
                select(m.StepRun.id, m.StepRun.lot_id, m.StepRun.rework, m.Measurement.value)
                .join(m.Measurement, m.Measurement.step_run_id == m.StepRun.id)
                .join(m.WaferResult, (m.WaferResult.step_run_id == m.StepRun.id)
                      & (m.WaferResult.wafer_id == m.Measurement.wafer_id))
                .where(m.StepRun.id.in_(runs), m.Measurement.name == measurement, m.WaferResult.status == "PROCESSED")
                .order_by(m.StepRun.id, m.Measurement.wafer_id)).all()
        out: dict[int, RunValues] = {}
        for run_id, lot, rework, value in rows:
            prev = out.get(run_id)
            out[run_id] = RunValues(run_id, lot, rework, (prev.values if prev else ()) + (value,))
        found = list(out.values())
        return found[-newest:] if newest else found

    def raise_spc_flag(self, tool_id: str, step_id: str, measurement: str, lot_id: str, step_run_id: int,
                       signal: str) -> None:
        with self.session() as s:
            s.add(m.SpcFlag(tool_id=tool_id, step_id=step_id, measurement=measurement, lot_id=lot_id,
                            step_run_id=step_run_id, signal=signal))

    def open_spc_flags(self, step_id: str | None = None, tool_ids: Iterable[str] | None = None) -> list[m.SpcFlag]:
        with self.session() as s:
            q = select(m.SpcFlag).where(m.SpcFlag.cleared_at.is_(None)).order_by(m.SpcFlag.id)
            if step_id is not None:
                q = q.where(m.SpcFlag.step_id == step_id)
            if tool_ids is not None:
                q = q.where(m.SpcFlag.tool_id.in_(list(tool_ids)))
            return list(s.scalars(q))

    def clear_spc_flags(self, tool_id: str, step_id: str | None, by: str, note: str = "") -> int:
        """An engineer clears a tool's open flags (at one step, or all): who, when, why. Returns how many."""
        with self.session() as s:
            q = select(m.SpcFlag).where(m.SpcFlag.tool_id == tool_id, m.SpcFlag.cleared_at.is_(None))
            if step_id is not None:
                q = q.where(m.SpcFlag.step_id == step_id)
            flags = list(s.scalars(q))
            for f in flags:
                f.cleared_by, f.cleared_at, f.clear_note = by, m.utcnow(), note
                s.add(m.Event(entity="spc", entity_id=f"{f.step_id}/{f.measurement}/{f.tool_id}", source="FLAGGED",
                              dest="", trigger="clear", step_run_id=f.step_run_id, data={"by": by, "note": note}))
            return len(flags)
