"""Queue-time zones: the steps between an earlier step's end and a later step that must start within
a limit of it (`queue_limits`). Ranking waiting steps alone cannot keep a short zone on a shared
tool — a paste printed while both cure ovens run multi-hour polyimide cures skins over before an
oven is free. So the step that opens a zone is not started while the zone's end could not be
reached in time: the lot waits *before* the zone, where waiting costs nothing, instead of inside
it, where it costs the wafers. Inside a zone, the lot's closing step goes ahead of steps of the same
priority that are in none (`dispatch_rank.rank_key`).

The estimate is the host's, from what the ledger holds: when each tool that may close the zone is
expected free (its running job's start plus the job-time model's length, recorded when the start
was sent), the lots already inside a zone waiting for those tools with an earlier deadline (each one
job of the closing step's length), and this step's own job. The zone opens when the closing step
is expected to start within `OPEN_SHARE` of its limit; the rest is margin for the estimate.

The estimate is only as good as the moment it was made: a step in no zone may take the oven a
moment after the gate opened. So while the lot runs the step right before a zone's closing step,
that step holds its place in the queue (`reserve_next`, from when the step before is granted its
tool), and a gate that opened is asked again with the place held before the step's job starts.
"""
from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from drivers.registry import kind_spec
from line.dispatch_queue import RESERVED, Request, reservation_of, reserve
from line.ledger import Ledger
from line.ledger import models as m
from line.plan import LotPlan, PlannedStep
from line.recipes.route import QueueLimit

OPEN_SHARE = 0.75
"""a zone opens when its closing step is expected to start within this share of its limit"""


@dataclass(frozen=True)
class Zone:
    """A later step that must start within `limit_s` (wall seconds) of this step's end."""
    closes: str
    tools: tuple[str, ...]
    limit_s: float
    job_s: float
    """the closing step's expected job, wall seconds"""
    max_h: float
    why: str


def job_wall_s(plan: LotPlan, step: PlannedStep, wafers: int) -> float:
    """A step's expected job length on the line's clock (0 when its kind's model cannot price it)."""
    tools = plan.tools_for(step)
    try:
        tool_s = float(kind_spec(step.kind).job_time_s(step.body, wafers, tools[0].options if tools else {}))
    except Exception:  # noqa: BLE001 - a body the model cannot price: no estimate, no wait for it
        return 0.0
    return tool_s / plan.clock_speed


def zones_opened(plan: LotPlan, step: PlannedStep, wafers: int) -> list[Zone]:
    """The zones this step opens: later steps whose queue-time limit counts from its end."""
    out = []
    for later in plan.steps:
        for q in later.queue_limits:
            if q.since == step.id:
                out.append(Zone(later.id, tuple(t.id for t in plan.tools_for(later)), q.max_h * 3600 / plan.clock_speed,
                                job_wall_s(plan, later, wafers), q.max_h, q.why))
    return out


def free_in(ledger: Ledger, tools: tuple[str, ...], now: datetime, default_s: float) -> list[float]:
    """Wall seconds until each tool is expected free: 0 when nobody holds it; else its running job's
    expected end (recorded with its start), or `default_s` when that is not known yet."""
    with ledger.session() as s:
        leased = {lease.tool_id for lease in s.scalars(select(m.ToolLease).where(m.ToolLease.tool_id.in_(tools)))
                  if m.as_utc(lease.expires_at) > now}
        running = {run.tool_id: run for run in s.scalars(select(m.StepRun).where(
            m.StepRun.tool_id.in_(leased), m.StepRun.status == "RUNNING"))}
        starts = {ev.step_run_id: ev for ev in s.scalars(select(m.Event).where(
            m.Event.entity == "job", m.Event.trigger == "start-sent",
            m.Event.step_run_id.in_([r.id for r in running.values()])))}
    out = []
    for tool in tools:
        if tool not in leased:
            out.append(0.0)
            continue
        run = running.get(tool)
        ev = starts.get(run.id) if run is not None else None
        expected = (ev.data or {}).get("expected_s") if ev is not None else None
        if ev is None or expected is None:
            out.append(default_s)
        else:
            out.append(max(0.0, (m.as_utc(ev.at) - now).total_seconds() + float(expected)))
    return out


def zones_ahead(ledger: Ledger, tools: tuple[str, ...], before: datetime, lot_id: str = "") -> int:
    """Steps of other lots inside a zone, waiting (or holding their place) for one of `tools`, whose
    deadline comes before `before`."""
    q = m.DispatchRequest
    with ledger.session() as s:
        rows = list(s.scalars(select(q).where(q.state.in_(("WAITING", RESERVED)), q.due_at.is_not(None),
                                              q.lot_id != lot_id)))
    return sum(1 for r in rows if set(r.tools["ids"]) & set(tools) and r.due_at is not None
               and m.as_utc(r.due_at) < before)


def expected_wait_s(ledger: Ledger, zone: Zone, own_job_s: float, now: datetime, lot_id: str = "") -> float:
    """Wall seconds the zone's closing step is expected to wait after this step ends."""
    if not zone.tools:
        return 0.0
    frees = free_in(ledger, zone.tools, now, zone.job_s)
    our_deadline = now + timedelta(seconds=own_job_s + zone.limit_s)
    heapq.heapify(frees)
    for _ in range(zones_ahead(ledger, zone.tools, our_deadline, lot_id)):
        heapq.heapreplace(frees, frees[0] + zone.job_s)     # each lot ahead takes the first tool free
    return max(0.0, frees[0] - own_job_s)


def zone_closed(ledger: Ledger, plan: LotPlan, step: PlannedStep, wafers: int, now: datetime,
                lot_id: str = "") -> str | None:
    """Why this step of `lot_id` must wait before the zones it opens (None: each can be closed in
    time; the lot's own place held is not a lot ahead of it)."""
    zones = zones_opened(plan, step, wafers)
    if not zones:
        return None
    own = job_wall_s(plan, step, wafers)
    for z in zones:
        wait = expected_wait_s(ledger, z, own, now, lot_id)
        if wait > OPEN_SHARE * z.limit_s:
            process_h = wait * plan.clock_speed / 3600
            return (f"{step.id} waits before its queue-time zone: {z.closes} must start within {z.max_h:g} h of "
                    f"{step.id}'s end ({z.why}), and {'/'.join(z.tools)} would take it in ~{process_h:.1f} h")
    return None


def closing_next(plan: LotPlan, step: PlannedStep) -> PlannedStep | None:
    """The step right after this one when it ends a queue-time zone (its place is held while the lot
    runs this one), else None."""
    i = plan.index_of(step)
    after = plan.steps[i + 1] if i + 1 < len(plan.steps) else None
    return after if after is not None and after.queue_limits else None


def reserve_next(ledger: Ledger, plan: LotPlan, step: PlannedStep, lot_id: str, wafers: int, priority: int,
                 now: datetime) -> None:
    """This step of the lot was granted its tool: the zone-closing step after it holds its place,
    due when its earliest limit runs out — a limit counted from this step's end from its expected end."""
    closes = closing_next(plan, step)
    if closes is None:
        return
    own_end = now + timedelta(seconds=job_wall_s(plan, step, wafers))
    dues = [(queue_deadline(own_end, q.max_h, plan.clock_speed), q.max_h * 3600 / plan.clock_speed)
            for q in closes.queue_limits if q.since == step.id]
    earlier = queue_deadline_for(ledger, lot_id, closes.id, [q for q in closes.queue_limits if q.since != step.id],
                                 plan.clock_speed)
    if earlier is not None:
        dues.append(earlier[:2])
    if not dues:            # its limits count from steps this lot has not run: no deadline to keep
        return
    due_at, limit_s = min(dues)
    reserve(ledger, Request(reservation_of(lot_id, closes.id), lot_id, closes.id, closes.kind,
                            tuple(t.id for t in plan.tools_for(closes)), priority, plan.to_bottleneck(closes),
                            due_at, limit_s))


def queue_deadline(ended_at: datetime, max_h: float, clock_speed: float) -> datetime:
    """When a limit of `max_h` process hours after `ended_at` runs out on the wall clock (the line's
    clock runs `clock_speed` process seconds a wall second)."""
    return m.as_utc(ended_at) + timedelta(seconds=max_h * 3600 / clock_speed)


def queue_deadline_for(ledger: Ledger, lot_id: str, step_id: str, limits: Sequence[QueueLimit],
                       clock_speed: float) -> tuple[datetime, float, str] | None:
    """The earliest queue-time deadline of a step about to queue (wall clock), its limit's length in
    wall seconds and what to say when it passes; None when no limit applies — none declared, its
    earlier step not run, or an operator already decided a QUEUE_TIME hold of this step (rework: run
    it anyway — the decision is the record)."""
    if not limits:
        return None
    with ledger.together():
        runs = ledger.step_runs(lot_id)
        waived = any(h.reason_type == "QUEUE_TIME" and h.decision for h in ledger.holds(lot_id)
                     if any(r.id == h.step_run_id and r.step_id == step_id for r in runs))
    if waived:
        return None
    found = []
    for limit in limits:
        ended = [r.ended_at for r in runs if r.step_id == limit.since and r.status in ("COMPLETE", "ACCEPTED")
                 and r.ended_at is not None]
        if ended:
            end = max(m.as_utc(t) for t in ended)
            due = queue_deadline(end, limit.max_h, clock_speed)
            found.append((due, limit.max_h * 3600 / clock_speed,
                          f"{step_id} must start within {limit.max_h:g} h of {limit.since}'s end ({limit.why}); "
                          f"{limit.since} ended {end:%H:%M:%S} UTC, the limit ran out at {due:%H:%M:%S} UTC "
                          f"(clock ×{clock_speed:g}) — decide: rework runs {step_id} anyway, scrap or abort"))
    return min(found, key=lambda f: f[0]) if found else None
