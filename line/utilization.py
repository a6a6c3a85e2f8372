"""E10 time in state per tool over a window, from the ledger's tool events: what an equipment
engineer reads for uptime and utilization. SEMI E10: uptime = PRD + SBY + ENG, downtime = SDT +
UDT, operations time = total time − NST; operational utilization = PRD / operations time.

Only time the ledger observed counts: before a tool's first event it is not NON_SCHEDULED but
unknown (`unobserved_s`), and shares are of the observed time — a tool first seen an hour ago is
not "23 h non-scheduled" in a 24 h window. Between two events a tool is in the state the earlier one
reported (the driver reports every change while a step drives the tool) — except while an alarm
the tool has not reported cleared is open: that time is unscheduled downtime; and while the tool
was taken down for maintenance, that time is the down's state (scheduled or unscheduled downtime,
or engineering)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from line.ledger import Ledger
from line.ledger import models as m
from line.tracking import NOT_TOOL_STATE, e10_state, last_tool_state_event

E10_STATES = ("PRODUCTIVE", "STANDBY", "ENGINEERING", "SCHEDULED_DOWNTIME", "UNSCHEDULED_DOWNTIME", "NON_SCHEDULED")
SHORT = {"PRODUCTIVE": "PRD", "STANDBY": "SBY", "ENGINEERING": "ENG", "SCHEDULED_DOWNTIME": "SDT",
         "UNSCHEDULED_DOWNTIME": "UDT", "NON_SCHEDULED": "NST"}


@dataclass
class ToolE10:
    tool_id: str
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(E10_STATES, 0.0))
    unobserved_s: float = 0.0
    """of the window, before the ledger's first word of the tool: in no state"""

    @property
    def observed_s(self) -> float:
        return sum(self.seconds.values())

    @property
    def operations_s(self) -> float:
        return self.observed_s - self.seconds["NON_SCHEDULED"]

    def pct_of_operations(self, *states: str) -> float:
        ops = self.operations_s
        return 100.0 * sum(self.seconds[s] for s in states) / ops if ops > 0 else 0.0

    @property
    def uptime_pct(self) -> float:
        return self.pct_of_operations("PRODUCTIVE", "STANDBY", "ENGINEERING")

    @property
    def utilization_pct(self) -> float:
        return self.pct_of_operations("PRODUCTIVE")


def e10_report(ledger: Ledger, tool_ids: list[str], since: datetime, until: datetime) -> list[ToolE10]:
    """Seconds each tool spent in each E10 state between `since` and `until`; the part of the window
    before its first event in the ledger is `unobserved_s`."""
    rows = []
    with ledger.session() as s:
        for tool_id in tool_ids:
            is_state = (m.Event.entity == "tool", m.Event.entity_id == tool_id, m.Event.trigger.not_in(NOT_TOOL_STATE))
            before = last_tool_state_event(s, tool_id, before=since)
            inside = s.scalars(select(m.Event).where(*is_state, m.Event.at >= since, m.Event.at < until)
                               .order_by(m.Event.id)).all()
            down = [(m.as_utc(a.raised_at), m.as_utc(a.cleared_at) if a.cleared_at else until) for a in s.scalars(
                select(m.Alarm).where(m.Alarm.tool_id == tool_id, m.Alarm.raised_at < until,
                                      (m.Alarm.cleared_at.is_(None)) | (m.Alarm.cleared_at > since)))]
            maint = [(m.as_utc(d.started_at), m.as_utc(d.ended_at) if d.ended_at else until, d.e10) for d in s.scalars(
                select(m.Maintenance).where(m.Maintenance.tool_id == tool_id, m.Maintenance.action == "down",
                                            m.Maintenance.started_at < until,
                                            (m.Maintenance.ended_at.is_(None)) | (m.Maintenance.ended_at > since)))]
            row, t = ToolE10(tool_id), since
            state: str | None = e10_state(before.dest) if before else None
            first_word = m.as_utc(inside[0].at) if inside else until
            if state is None and maint and (taken := max(since, min(lo for lo, _, _ in maint))) < first_word:
                state, t = "STANDBY", taken      # taken down before the tool ever reported: observed from then
                row.unobserved_s += (t - since).total_seconds()
            for ev in inside:
                at = max(m.as_utc(ev.at), t)
                _count(row, state, t, at, down, maint)
                state, t = e10_state(ev.dest), at
            _count(row, state, t, max(t, until), down, maint)
            rows.append(row)
    return rows


def _count(row: ToolE10, state: str | None, a: datetime, b: datetime, down: list[tuple[datetime, datetime]],
           maint: Sequence[tuple[datetime, datetime, str]] = ()) -> None:
    """[a, b) in `state`, except where an alarm was open: that is unscheduled downtime whatever the
    driver's state said (after a held job the mirror idles while the tool's alarm stays up); and where
    the tool was down for maintenance (and no alarm was open), the down's state."""
    seconds = (b - a).total_seconds()
    if state is None:
        row.unobserved_s += seconds
        return
    alarmed = _overlap(a, b, down)
    row.seconds["UNSCHEDULED_DOWNTIME"] += alarmed
    rest = seconds - alarmed
    for e10 in dict.fromkeys(s for _, _, s in maint):
        spans = [(lo, hi) for lo, hi, s in maint if s == e10]
        only = _overlap(a, b, [*down, *spans]) - alarmed        # down for this reason, no alarm open
        row.seconds[e10] += only
        rest -= only
    row.seconds[state] += rest


def _overlap(a: datetime, b: datetime, spans: list[tuple[datetime, datetime]]) -> float:
    """Seconds of [a, b) covered by the union of `spans`."""
    total, reach = 0.0, a
    for lo, hi in sorted(spans):
        lo, hi = max(lo, reach), min(hi, b)
        if hi > lo:
            total += (hi - lo).total_seconds()
            reach = hi
    return total
