"""The ledger's alarms: recorded once as the tool reports them, open until the tool reports them
cleared, acknowledged by an operator (who, when, note) without closing them. A mixin of `Ledger`
(its own module to keep the store readable)."""
from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from drivers.jobs import Alarm as ToolAlarmRow
from line.ledger import hot_statements as hot
from line.ledger import models as m


class AlarmRecords:
    def session(self) -> AbstractContextManager[Session]:
        """One transaction (Ledger's)."""
        raise NotImplementedError

    def record_alarm(self, tool_id: str, alarm: ToolAlarmRow, step_run_id: int | None) -> None:
        try:
            with self.session() as s:
                s.add(m.Alarm(tool_id=tool_id, alid=alarm.alid, name=alarm.name, text=alarm.text,
                              job_id=alarm.job_id, wafer_id=alarm.wafer_id, tool_time_s=alarm.at_s,
                              step_run_id=step_run_id))
        except IntegrityError:
            pass  # already recorded (a resume replays the tool's alarm list)

    def open_alarms(self, tool_id: str | None = None) -> list[m.Alarm]:
        """Alarms the tool has not yet reported cleared (acknowledged or not), oldest first."""
        with self.session() as s:
            q = select(m.Alarm).where(m.Alarm.cleared_at.is_(None)).order_by(m.Alarm.id)
            if tool_id is not None:
                q = q.where(m.Alarm.tool_id == tool_id)
            return list(s.scalars(q))

    def alarms_cleared(self, tool_id: str, how: str = "tool-report") -> int:
        """The tool reported no alarm: its open alarms close now. A read first, so a tool with
        none (the usual case, at every step's first status) writes nothing."""
        with self.session() as s:
            open_ = list(s.scalars(hot.ALARMS_OPEN, {"tool": tool_id}))
            now = m.utcnow()
            for a in open_:
                a.cleared_at = now
                s.add(m.Event(entity="alarm", entity_id=tool_id, source="OPEN", dest="CLEARED", trigger=how,
                              data={"alid": a.alid, "name": a.name, "alarm": a.id}))
            return len(open_)

    def acknowledge_alarms(self, tool_id: str, operator: str, alid: int | None = None, note: str = "") -> list[m.Alarm]:
        """An operator has seen the tool's open alarms (or the one with `alid`): recorded with who,
        when and why. The alarm stays open and the tool down until the tool reports it cleared."""
        with self.session() as s:
            q = select(m.Alarm).where(m.Alarm.tool_id == tool_id, m.Alarm.cleared_at.is_(None))
            if alid is not None:
                q = q.where(m.Alarm.alid == alid)
            found = list(s.scalars(q.order_by(m.Alarm.id)))
            now = m.utcnow()
            for a in found:
                a.acknowledged_by, a.acknowledged_at, a.ack_note = operator, now, note
                s.add(m.Event(entity="alarm", entity_id=tool_id, source="OPEN", dest="ACKNOWLEDGED",
                              trigger="acknowledge", data={"alid": a.alid, "alarm": a.id, "by": operator, "note": note}))
            return found

    def alarms(self, lot_id: str | None = None, step_run_id: int | None = None) -> list[m.Alarm]:
        with self.session() as s:
            q = select(m.Alarm).order_by(m.Alarm.id)
            if step_run_id is not None:
                q = q.where(m.Alarm.step_run_id == step_run_id)
            if lot_id:
                q = q.join(m.StepRun, m.Alarm.step_run_id == m.StepRun.id).where(m.StepRun.lot_id == lot_id)
            return list(s.scalars(q))

