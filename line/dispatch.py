"""Which tool runs a step: tools of the step's kind that accept the recipe (capabilities), free
ones first, least used first — the lease in the ledger decides who actually gets it."""
from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from line.config import LineConfig, ToolConfig
from line.ledger import Ledger
from line.ledger import models as m


def candidates(line: LineConfig, kind: str, parameters: dict[str, Any]) -> list[ToolConfig]:
    return [t for t in line.tools_of(kind) if t.accepts(parameters)]


def preference(ledger: Ledger, tools: list[ToolConfig]) -> list[str]:
    """Free tools before leased ones, then the least used (step runs so far)."""
    ids = [t.id for t in tools]
    with ledger.session() as s:
        leased = set(s.scalars(select(m.ToolLease.tool_id).where(m.ToolLease.tool_id.in_(ids))))
        used = Counter(s.scalars(select(m.StepRun.tool_id).where(m.StepRun.tool_id.in_(ids))))
    return sorted(ids, key=lambda t: (t in leased, used[t], t))
