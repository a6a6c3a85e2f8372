"""Which tool runs a step: tools of the step's kind that hold what the recipe needs (capabilities)
and are qualified for it, free ones first, least used (in the last day) first — the lease in the
ledger decides who actually gets it."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from line.config import LineConfig, ToolConfig
from line.ledger import Ledger
from line.ledger import models as m
from line.tracking import last_tool_state

USE_WINDOW = timedelta(days=1)
"""how far back "least used" counts a tool's step runs"""


def candidates(line: LineConfig, kind: str, recipe_name: str, parameters: dict[str, Any]) -> list[ToolConfig]:
    """The tools of the line that may run this recipe."""
    return line.may_run(kind, recipe_name, parameters)


def last_states(s: Session, ids: list[str]) -> dict[str, str]:
    """The last state each tool's driver reported: its `dest` only, one index probe per tool (the
    latest of all of them at once would scan every event those tools ever had)."""
    return {tid: dest for tid in ids if (dest := s.scalar(last_tool_state(tid, m.Event.dest))) is not None}


def preference(ledger: Ledger, tools: list[ToolConfig], step_id: str = "") -> list[str]:
    """Tools that are not down first (no open alarm, not last seen in ALARM), then tools no SPC
    signal flagged at this step (a flagged tool runs the step only when no other can), free before
    leased, then the least used in the last `USE_WINDOW` (an index range per tool, however long the
    ledger's history). A lease past its expiry is free: the next acquire takes it over."""
    ids = [t.id for t in tools]
    with ledger.session() as s:
        now = m.utcnow()
        leased = {tid for tid, expires in s.execute(select(m.ToolLease.tool_id, m.ToolLease.expires_at)
                                                    .where(m.ToolLease.tool_id.in_(ids)))
                  if m.as_utc(expires) > now}
        used: Counter[str] = Counter({tool: n for tool, n in s.execute(
            select(m.StepRun.tool_id, func.count()).where(m.StepRun.tool_id.in_(ids), m.StepRun.started_at >= now - USE_WINDOW)
            .group_by(m.StepRun.tool_id))})
        states = last_states(s, ids)
        alarmed = set(s.scalars(select(m.Alarm.tool_id).where(m.Alarm.tool_id.in_(ids), m.Alarm.cleared_at.is_(None))))
        flagged = set(s.scalars(select(m.SpcFlag.tool_id).where(
            m.SpcFlag.tool_id.in_(ids), m.SpcFlag.step_id == step_id, m.SpcFlag.cleared_at.is_(None)))) if step_id else set()
    # down: an alarm the tool has not reported cleared (acknowledged or not), or a last state of ALARM
    return sorted(ids, key=lambda t: (t in alarmed or states.get(t) == "ALARM", t in flagged, t in leased, used[t], t))
