"""Operator decisions on a held lot, as Prefect typed input: the flow pauses (keeping its process
and state), the Prefect UI shows a form, and the answer — continue, rework the step, scrap named
wafers, abort the lot — comes back typed. Who decided what, and when, goes to the ledger."""
from __future__ import annotations

from typing import Literal
from uuid import UUID

from prefect.input import RunInput
from pydantic import Field
from sqlalchemy import select

from drivers.errors import BumplineError
from line.ledger import Ledger
from line.ledger import models as m

DECISIONS = ("continue", "rework", "scrap", "abort")


class HoldDecision(RunInput):
    """The Resume form of a held lot: no decision is pre-set and the operator must be named — an
    answer nobody chose, or nobody signed, is no answer."""
    decision: Literal["continue", "rework", "scrap", "abort"] = Field(
        description="continue: accept the step as it is (one held before any tool ran it runs now) · rework: run "
                    "the step again · scrap: scrap the named wafers and go on · abort: stop the lot")
    operator: str = Field(min_length=1, max_length=64, pattern=r"\S", description="who decides (goes to the ledger)")
    scrap_wafers: list[str] = Field(default_factory=list, description="wafer ids to scrap (with scrap)")
    note: str = Field(default="", max_length=2000, description="why (shown in the lot view and `lot show`)")


def pending_hold(ledger: Ledger, lot_id: str) -> m.Hold | None:
    """The lot's newest hold still waiting for a decision."""
    with ledger.session() as s:
        return s.scalars(select(m.Hold).where(m.Hold.lot_id == lot_id, m.Hold.decision == "")
                         .order_by(m.Hold.id.desc())).first()


def record_decision(ledger: Ledger, hold_id: int, answer: HoldDecision) -> None:
    with ledger.session() as s:
        hold = Ledger.must(s, m.Hold, hold_id)
        hold.decision, hold.decided_by, hold.decided_at, hold.note = (answer.decision, answer.operator,
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


class NotYetWaiting(BumplineError, LookupError):
    """A live orchestrator holds the lot but has not paused for the decision yet (it is between
    the step's end and its pause): an answer now would be lost to it. Ask again in a moment."""


def waiting_flow_run(ledger: Ledger, lot_id: str) -> str | None:
    """The flow run paused on this lot's hold; None when nobody waits (the lot ended on hold, or
    its orchestrator died). Raises NotYetWaiting when a live orchestrator has not paused yet."""
    from prefect import get_client

    from line.leases import flow_run_of, lot_orphaned

    lease = ledger.lease(f"lot:{lot_id}")
    if lease is None or lot_orphaned(ledger, lot_id) is not None:
        return None
    flow_run_id = flow_run_of(lease[0])
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(flow_run_id)).state
    if state is not None and state.is_paused():
        return flow_run_id
    raise NotYetWaiting(f"lot {lot_id} is run by flow run {flow_run_id}, which has not paused for the decision "
                        "yet; answer again in a few seconds")


def answer_hold(ledger: Ledger, lot_id: str, answer: HoldDecision) -> str:
    """Answer a lot's open hold: through Prefect's input API when a flow run is paused on it (the
    same path as the UI's form), else straight into the ledger so `bumpline resume` carries the lot
    on with the decision. Returns what was done, in one line."""
    from prefect.flow_runs import resume_flow_run

    hold = pending_hold(ledger, lot_id)
    if hold is None:
        raise LookupError(f"lot {lot_id} has no open hold")
    flow_run_id = waiting_flow_run(ledger, lot_id)
    if flow_run_id is not None:
        resume_flow_run(UUID(flow_run_id), run_input=answer.model_dump(mode="json"))
        return f"sent '{answer.decision}' to flow run {flow_run_id}, paused on {lot_id}'s hold"
    record_decision(ledger, hold.id, answer)
    apply_decision(ledger, lot_id, hold.step_run_id, answer)
    if answer.decision == "abort":
        return f"{lot_id} aborted"
    return f"recorded '{answer.decision}' for {lot_id}; no orchestrator was waiting — `bumpline resume` carries it on"


def apply_decision(ledger: Ledger, lot_id: str, step_run_id: int | None, answer: HoldDecision) -> None:
    """What a decision does to the lot, whoever carries it out (the waiting flow, or `lot answer`
    for `resume`): abort ends the lot; continue and scrap accept the held step as it is; rework
    leaves it ON_HOLD, to be run again at the next rework number. A step held before it reached any
    tool (NO_TOOL, QUEUE_TIME) has nothing to accept: continue and scrap leave it to run again too —
    a step is never passed as done unrun."""
    if answer.decision == "abort":
        ledger.set_lot_status(lot_id, "ABORTED", f"aborted by {answer.operator}: {answer.note}", "abort")
        return
    if answer.decision in ("continue", "scrap") and step_run_id is not None and not runs_again(ledger, step_run_id,
                                                                                                  answer.decision):
        ledger.finish_step(step_run_id, "ACCEPTED")
    ledger.set_lot_status(lot_id, "RUNNING", trigger=f"operator-{answer.decision}")


def runs_again(ledger: Ledger, step_run_id: int, decision: str) -> bool:
    """Whether a decision on this held step runs it again: rework always; continue or scrap when
    the step never reached a tool (there is no result to accept)."""
    return decision == "rework" or (decision in ("continue", "scrap") and not ledger.step_run(step_run_id).tool_id)
