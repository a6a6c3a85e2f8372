"""Which tool runs a step: tools of the step's kind that accept the recipe (capabilities), free
ones first, least used first — the lease in the ledger decides who actually gets it."""
from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from line.config import LineConfig, ToolConfig
from line.ledger import Ledger
from line.ledger import models as m


def candidates(line: LineConfig, kind: str, parameters: dict[str, Any]) -> list[ToolConfig]:
    return [t for t in line.tools_of(kind) if t.accepts(parameters)]


def last_states(ledger: Ledger, ids: list[str]) -> dict[str, str]:
    """The last state each tool's driver reported (from the event log)."""
    with ledger.session() as s:
        newest = select(m.Event.entity_id, func.max(m.Event.id)).where(
            m.Event.entity == "tool", m.Event.entity_id.in_(ids), m.Event.dest != "").group_by(m.Event.entity_id)
        rows = {tid: eid for tid, eid in s.execute(newest)}
        return {tid: s.get(m.Event, eid).dest for tid, eid in rows.items()}


def preference(ledger: Ledger, tools: list[ToolConfig]) -> list[str]:
    """Tools that did not end in ALARM first, free before leased, then the least used."""
    ids = [t.id for t in tools]
    with ledger.session() as s:
        leased = set(s.scalars(select(m.ToolLease.tool_id).where(m.ToolLease.tool_id.in_(ids))))
        used = Counter(s.scalars(select(m.StepRun.tool_id).where(m.StepRun.tool_id.in_(ids))))
    states = last_states(ledger, ids)
    return sorted(ids, key=lambda t: (states.get(t) == "ALARM", t in leased, used[t], t))
