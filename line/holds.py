"""Operator decisions on a held lot, as Prefect typed input: the flow pauses (keeping its process
and state), the Prefect UI shows a form, and the answer — continue, rework the step, scrap named
wafers, abort the lot — comes back typed. Who decided what, and when, goes to the ledger."""
from __future__ import annotations

from typing import Literal

from prefect.input import RunInput
from sqlalchemy import select

from line.ledger import Ledger
from line.ledger import models as m

DECISIONS = ("continue", "rework", "scrap", "abort")


class HoldDecision(RunInput):
    decision: Literal["continue", "rework", "scrap", "abort"] = "continue"
    operator: str = ""
    scrap_wafers: list[str] = []
    note: str = ""


def open_hold(ledger: Ledger, lot_id: str) -> m.Hold | None:
    with ledger.session() as s:
        return s.scalars(select(m.Hold).where(m.Hold.lot_id == lot_id, m.Hold.decision == "")
                         .order_by(m.Hold.id.desc())).first()


def record_decision(ledger: Ledger, hold_id: int, answer: HoldDecision) -> None:
    with ledger.session() as s:
        hold = s.get(m.Hold, hold_id)
        hold.decision, hold.decided_by, hold.decided_at, hold.note = (answer.decision, answer.operator or "unknown",
                                                                      m.utcnow(), answer.note)
        s.add(m.Event(entity="lot", entity_id=hold.lot_id, source="ON_HOLD", dest=answer.decision.upper(),
                      trigger="operator-decision", step_run_id=hold.step_run_id,
                      data={"by": answer.operator, "scrap": answer.scrap_wafers, "note": answer.note}))
    if answer.decision == "scrap" and answer.scrap_wafers:
        with ledger.session() as s:
            for wid in answer.scrap_wafers:
                w = s.get(m.Wafer, wid)
                if w is not None and w.state != "SCRAPPED":
                    s.add(m.Event(entity="wafer", entity_id=wid, source=w.state, dest="SCRAPPED", trigger="scrap",
                                  data={"by": answer.operator}))
                    w.state = "SCRAPPED"
