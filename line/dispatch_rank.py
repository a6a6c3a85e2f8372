"""The dispatch queue's ranking, pure: which waiting step a free tool goes to. The same rows give
every orchestrator the same answer, and the SimPy model of the line (`bench/desmodel.py`) ranks its
steps with these very functions — the order itself is told in `line.dispatch_queue`."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

URGENT_SHARE = 0.25
"""a step with less than this share of its queue-time limit left is urgent"""


@dataclass(frozen=True)
class Waiting:
    """What the ranking sees of one waiting step."""
    holder: str
    tools: tuple[str, ...]
    priority: int = 0
    to_bottleneck: int | None = None
    queued_at: datetime = datetime.min.replace(tzinfo=UTC)
    due_at: datetime | None = None
    limit_s: float | None = None
    order: int = 0

    def urgent(self, now: datetime) -> bool:
        if self.due_at is None or not self.limit_s:
            return False
        return (self.due_at - now).total_seconds() <= URGENT_SHARE * self.limit_s


def rank_key(w: Waiting, now: datetime) -> tuple[int, float, int, int, datetime, int, datetime, int]:
    urgent = w.urgent(now)
    slack = (w.due_at - now).total_seconds() if urgent and w.due_at is not None else 0.0
    in_zone = w.due_at is not None            # its queue-time clock runs: ahead of steps in none (same priority)
    return (0 if urgent else 1, slack, -w.priority, 0 if in_zone else 1, w.due_at or FAR,
            w.to_bottleneck if w.to_bottleneck is not None else 1_000, w.queued_at, w.order)


FAR = datetime.max.replace(tzinfo=UTC)


def assign(waiting: Sequence[Waiting], free: set[str], now: datetime) -> dict[str, str]:
    """Free tools to waiting steps, best-ranked first, each to the first free tool of its own order
    of preference. Pure: the same rows give every orchestrator the same answer."""
    left, out = set(free), {}
    for w in sorted(waiting, key=lambda w: rank_key(w, now)):
        tool = next((t for t in w.tools if t in left), None)
        if tool is not None:
            out[w.holder] = tool
            left.discard(tool)
        if not left:
            break
    return out
