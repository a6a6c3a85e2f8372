"""The dispatch queue: which waiting step gets a free tool, across every orchestrator of the line.

Each step that needs a tool enters the queue in the ledger (`dispatch_requests`) with what it is
ranked by, and is granted a tool only when it is the best-ranked waiting step that tool can serve:

1. **Queue time first**: a step within `URGENT_SHARE` of its queue-time limit (a Cu seed before it
   oxidises, a developed resist before it ages) goes ahead of everything, the nearest deadline first;
   one whose limit has passed leaves the queue and the lot is held QUEUE_TIME (`QueueTimeExceeded`).
2. **Priority**: the lot's priority (higher first).
3. **Inside a queue-time zone**: a step whose limit clock runs goes ahead of one in none, the
   nearest deadline first (a step that opens a zone waits before it, `line.queue_zones`). The step
   that closes a zone holds its place while its lot runs the step right before it (`reserve`, from
   when that step is granted its tool): ranked like the step itself, the reservation keeps one of its
   tools from a step in no zone until the lot gets there — but is never granted; the step's own
   request replaces it. Never earlier: a place held across another queue idles the tool for longer
   than the zone needs it.
4. **The bottleneck fed**: fewer steps to the route's bottleneck tool group first, so the group
   that bounds the line's output does not starve while lots bunch elsewhere.
5. First come, first served.

Every orchestrator ranks the same rows, so two workers agree on who is next; the lease is the lock,
checked against a fresh read once taken. A request whose lot's orchestrator is gone (lot lease
lapsed, process dead) is passed over. Polled every `POLL_S`, at once when a tool is released here.

**Batch tools** (a tool with a `batch` policy: ovens, wet benches): the step granted the tool leads
its job and takes into it the best-ranked waiting steps of the same recipe body that may run there,
up to the tool's wafers, waiting up to its maximum for more (`_collect`). Each request's row is the
arbiter: a leader takes a step only from WAITING to BATCHED, a step takes its own tool only from
WAITING to GRANTED — one UPDATE each, so a step is never in two jobs. A step taken into a batch
leaves the queue with `Grant.leader` set and follows its own step run (`line.batching`)."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select, update

from drivers.errors import BumplineError
from line.dispatch_rank import Waiting, assign, rank_key
from line.leases import held, holder_alive, released
from line.ledger import Ledger
from line.ledger import hot_statements as hot
from line.ledger import models as m

log = logging.getLogger(__name__)

POLL_S = 0.25


class QueueTimeExceeded(BumplineError):
    def __init__(self, text: str) -> None:
        super().__init__(text)


@dataclass(frozen=True)
class Request:
    """One step's place in the queue (`claim` files and withdraws it)."""
    holder: str
    lot_id: str
    step_id: str
    kind: str
    tools: tuple[str, ...]
    priority: int = 0
    to_bottleneck: int | None = None
    due_at: datetime | None = None
    limit_s: float | None = None
    due_text: str = ""
    """what the deadline is, for the hold when it passes"""
    batch: Batchable | None = None
    """set when the step may share a batch tool's job with other lots"""
    gate: Callable[[], str | None] | None = field(default=None, compare=False)
    """why the step must not take a tool yet (it opens a queue-time zone that could not be closed in
    time), or None; while it says why, the step stands aside (GATED) and takes no tool"""
    enter: Callable[[bool], None] | None = field(default=None, compare=False)
    """hold (True) or give up (False) the place of the zone-closing step that comes right after this
    one — called when this step is granted its tool (then the gate is asked again, places held)"""
    begun: bool = False
    """the step was begun before (a resume): a job of its own may be on a tool"""


@dataclass(frozen=True)
class Batchable:
    """What lets a waiting step share a job with other lots on a batch tool."""
    key: str
    """who may share a job: the kind and the hash of the recipe body actually sent"""
    wafers: int
    member: dict[str, Any]
    """what a leader records for this step (`line.steps.Rider`'s fields)"""
    policies: dict[str, tuple[int, float]]
    """batch tool → (wafers a job carries, wall seconds it waits for more lots)"""


@dataclass(frozen=True)
class Grant:
    """What the queue gave a step: a tool (and the lots taken into its job), or a place in another
    step's batch job (`leader`, on `tool_id`; nothing is held for this step)."""
    tool_id: str
    riders: tuple[dict[str, Any], ...] = ()
    leader: str = ""
    let_go: Callable[[], None] | None = field(default=None, compare=False)   # release it before the block ends


RESERVED = hot.RESERVED


def reservation_of(lot_id: str, step_id: str) -> str:
    return f"reserve:{lot_id}/{step_id}"


def reserve(ledger: Ledger, r: Request) -> None:
    """Hold a place for the step the lot reaches next, the end of a queue-time zone: else a step in
    no zone takes the tool while the lot finishes the step before (seen: a paste held QUEUE_TIME
    behind a polyimide cure). It lasts until the step files its own request, the lot is held
    (`unreserve`), its orchestrator is gone, or its `due_at` passes."""
    q = m.DispatchRequest
    with ledger.session() as s:
        s.execute(delete(q).where(q.holder == r.holder))
        s.add(q(holder=r.holder, lot_id=r.lot_id, step_id=r.step_id, kind=r.kind, tools={"ids": list(r.tools)},
                priority=r.priority, to_bottleneck=r.to_bottleneck, due_at=r.due_at, limit_s=r.limit_s, state=RESERVED))


def unreserve(ledger: Ledger, lot_id: str) -> None:
    """The lot will not reach its reserved step now (held, failed, its step given back): the place goes."""
    q = m.DispatchRequest
    with ledger.session() as s:
        s.execute(delete(q).where(q.lot_id == lot_id, q.state == RESERVED))
    _stale(ledger)


def _file(ledger: Ledger, r: Request) -> None:
    """The step's row, WAITING; in the same transaction its earlier row goes (a resumed step queues
    anew), and so do its own reservation and any past its time. One DELETE and one INSERT, Core:
    every step files once."""
    b = r.batch
    with ledger.session() as s:
        s.execute(hot.QUEUE_FILE_CLEARS, {"held_by": r.holder, "lot": r.lot_id, "step": r.step_id, "now": m.utcnow()})
        s.execute(hot.QUEUE_INSERT, {"holder": r.holder, "lot_id": r.lot_id, "step_id": r.step_id, "kind": r.kind,
                              "tools": {"ids": list(r.tools)}, "priority": r.priority, "to_bottleneck": r.to_bottleneck,
                              "due_at": r.due_at, "limit_s": r.limit_s, "state": "WAITING",
                              "batch_key": b.key if b else None, "wafer_count": b.wafers if b else 0,
                              "member": b.member if b else None})


def _move(ledger: Ledger, holder: str, to: str, tool_id: str, leader: str | None = None,
          frm: tuple[str, ...] = ("WAITING",)) -> bool:
    """Take a waiting request out of WAITING (GRANTED to itself, BATCHED into `leader`'s job, EXPIRED
    past its limit) — one conditional UPDATE, so of two that race for it exactly one wins."""
    with ledger.session() as s:
        n = cast(CursorResult, s.execute(hot.QUEUE_MOVE, {"held_by": holder, "from_states": list(frm), "new_state": to,
                                                           "new_tool": tool_id, "new_leader": leader,
                                                           "new_at": m.utcnow()})).rowcount
    return bool(n)


def _taken_into(ledger: Ledger, holder: str) -> Grant | None:
    """The batch job a request was taken into, read now (not from the shared board)."""
    with ledger.session() as s:
        row = s.scalars(select(m.DispatchRequest).where(m.DispatchRequest.holder == holder)).first()
        return Grant(row.tool_id or "", leader=row.batch_of or "") if row is not None and row.state == "BATCHED" else None


def _withdraw(ledger: Ledger, holder: str) -> None:
    with ledger.session() as s:
        s.execute(hot.QUEUE_WITHDRAW, {"held_by": holder})


class _Board:
    """The queue as last read, shared by every step waiting in this process on one ledger: a tool
    released here wakes them all, and one read then answers each (not one read per waiter)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.read_at, self.generation = -1.0, -1
        self.assignment: dict[str, str] = {}
        self.batched: dict[str, tuple[str, str]] = {}
        self.seen: set[str] = set()


_boards: dict[str, _Board] = {}
FRESH_S = 0.2
"""a read of the queue answers this long (or until a tool is released in this process)"""


def _stale(ledger: Ledger) -> None:
    """The queue changed here: the next look reads it again."""
    board = _boards.get(ledger.url)
    if board is not None:
        board.read_at = -1e9


def _my_tool(ledger: Ledger, r: Request) -> str | Grant | None:
    """The tool this request would be granted now, the batch it was taken into, or None."""
    board = _boards.setdefault(ledger.url, _Board())
    with board.lock:
        if (board.generation != released.generation or r.holder not in board.seen
                or time.monotonic() - board.read_at > FRESH_S):
            board.generation, board.read_at = released.generation, time.monotonic()
            board.assignment, board.batched, board.seen = _read_assignment(ledger)
        if (batch := board.batched.get(r.holder)) is not None:
            return Grant(batch[1], leader=batch[0])
        return board.assignment.get(r.holder)


def _still_assigned(ledger: Ledger, r: Request, tool_id: str) -> bool:
    """Read fresh, its own new lease counted free: is `tool_id` still this holder's? The board may be
    `FRESH_S` old and a place held since outrank it; read after the lease, a later place finds it taken."""
    return _read_assignment(ledger, own=r.holder, own_begun=r.begun)[0].get(r.holder) == tool_id


def _read_assignment(ledger: Ledger, own: str = "", own_begun: bool = True
                     ) -> tuple[dict[str, str], dict[str, tuple[str, str]], set[str]]:
    """Every waiting step of the line and the free tools, in one read transaction: who gets what
    (and who was taken into a batch job: holder → its leader and tool). A tool leased by `own` counts
    free; unless `own_begun`, no job of `own`'s can be on it (nothing to keep it for: not asked)."""
    now = m.utcnow()
    with ledger.session() as s:     # the columns it needs, as rows: it runs every few hundred ms per process
        rows = list(s.execute(hot.QUEUE_OPEN))
        batched = {row.holder: (row.batch_of or "", row.tool_id or "") for row in rows if row.state == "BATCHED"}
        # a reservation ranks like a waiting step: the tool it is assigned goes to nobody else
        rows = [row for row in rows if row.state == "WAITING"
                or row.state == RESERVED and row.due_at is not None and m.as_utc(row.due_at) > now]
        tools = {t for row in rows for t in row.tools["ids"]}
        leases = {lease.tool_id: lease for lease in s.execute(
            hot.LEASES_OF, {"keys": sorted(tools | {f"lot:{row.lot_id}" for row in rows})})}
    free = {t for t in tools if t not in leases or m.as_utc(leases[t].expires_at) <= now
            or own and leases[t].holder == own}
    waiting = [_waiting(row) for row in rows if _alive(leases.get(f"lot:{row.lot_id}"), now)]
    kept = _kept_for_their_step(ledger, {t: leases[t].holder for t in free
                                         if t in leases and (own_begun or leases[t].holder != own)})
    mine = {w.holder: t for t, h in kept.items() for w in waiting if w.holder == h and t in w.tools}
    free -= set(kept)
    left = [w for w in waiting if w.holder not in mine]
    return {**mine, **(assign(left, free, now) if free else {})}, batched, {row.holder for row in rows} | set(batched)


def _kept_for_their_step(ledger: Ledger, lapsed: dict[str, str]) -> dict[str, str]:
    """Of the tools whose lease lapsed (tool → its last holder), those whose holder's step is still
    RUNNING: its job — finished or not, with its results — is on that tool until the step is resumed
    there, and a PLC keeps one job, so another lot's setup would erase it. Such a tool goes to that
    step's own request only (a resume), never to another lot: a lost record is worse than a tool
    kept waiting for `bumpline resume` or an operator's decision on the lot."""
    if not lapsed:
        return {}
    holders = set(lapsed.values())
    with ledger.session() as s:
        jobs = list(s.scalars(select(m.StepRun.job_id).where(
            m.StepRun.status == "RUNNING",
            or_(m.StepRun.job_id.in_(holders), *(m.StepRun.job_id.startswith(h + "+", autoescape=True)
                                                  for h in holders)))))
    running = {h for h in holders if any(j == h or j.startswith(h + "+") for j in jobs)}
    return {t: h for t, h in lapsed.items() if h in running}


def _waiting(row: Any) -> Waiting:
    return Waiting(row.holder, tuple(row.tools["ids"]), row.priority, row.to_bottleneck, m.as_utc(row.queued_at),
                   m.as_utc(row.due_at) if row.due_at else None, row.limit_s, row.id)


def _alive(lot_lease: Any, now: datetime) -> bool:
    """The lot's orchestrator still runs it: its lot lease is current and its process not known dead."""
    return lot_lease is not None and m.as_utc(lot_lease.expires_at) > now and holder_alive(lot_lease.holder) is not False


@contextmanager
def claim(ledger: Ledger, r: Request, ttl_s: float = 120.0) -> Iterator[Grant]:
    """Queue for a tool of `r.tools`, hold it (renewed) for the block, release it after; on a batch
    tool, with the lots taken into its job. A step taken into another's batch job holds nothing: its
    grant names the leader. Raises `QueueTimeExceeded` (the request withdrawn) when the step's
    queue-time limit passes first."""
    _file(ledger, r)
    gated = _Gated(ledger, r)
    mine: str | Grant | None = None
    try:
        while True:
            if r.due_at is not None and m.utcnow() > r.due_at:
                if _move(ledger, r.holder, "EXPIRED", "", None, frm=("WAITING", "GATED")):
                    raise QueueTimeExceeded(r.due_text)
                mine = _taken_into(ledger, r.holder)    # a leader took it in first: its job starts now
                if mine is not None:
                    gated.enter(recheck=False)
                    break
            if gated.waits():
                released.wait_for_next(POLL_S)
                continue
            mine = _my_tool(ledger, r)
            if isinstance(mine, Grant):
                gated.enter(recheck=False)
                break
            if mine is not None and ledger.acquire_lease(mine, r.holder, ttl_s):
                if _still_assigned(ledger, r, mine) and _move(ledger, r.holder, "GRANTED", mine):
                    if gated.enter(recheck=True):
                        break
                    ledger.release_lease(mine, r.holder)     # the gate closed meanwhile: the tool goes back
                    released.notify()
                    continue
                # a place held since outranks it, or a leader took this step into its batch meanwhile
                ledger.release_lease(mine, r.holder)
                _stale(ledger)
                continue
            released.wait_for_next(POLL_S)
    finally:
        _withdraw(ledger, r.holder)
    if isinstance(mine, Grant):
        yield mine
        return
    with held(ledger, mine, r.holder, ttl_s) as lease:
        t = lease.tool_id
        policy = r.batch.policies.get(t) if r.batch else None
        yield Grant(t, _collect(ledger, r, t, *policy) if policy and r.batch else (), let_go=lease.let_go)


class _Gated:
    """A step's gate, asked at most every `GATE_S`: while it says why, the step's row is GATED (no
    tool is assigned to it, so it blocks none) and the reason is logged once."""

    def __init__(self, ledger: Ledger, r: Request) -> None:
        self.ledger, self.r = ledger, r
        self.asked, self.why = -1e9, cast(str | None, None)

    def waits(self) -> bool:
        if self.r.gate is None:
            return False
        if time.monotonic() - self.asked >= GATE_S:
            self.asked = time.monotonic()
            why = self.r.gate()
            if (why is None) != (self.why is None):
                _set_state(self.ledger, self.r.holder, "GATED" if why else "WAITING")
                if why:
                    log.info(why)
                _stale(self.ledger)
            self.why = why
        return self.why is not None

    def enter(self, recheck: bool) -> bool:
        """The step was granted its tool: hold the place of the zone-closing step after it, then ask
        the gate again — an oven taken between the gate's answer and this grant shows now. False: the
        gate closed, the place is given up and the step is GATED again (its caller gives the tool back)."""
        if self.r.enter is None:
            return True
        self.r.enter(True)
        if not recheck or self.r.gate is None or (why := self.r.gate()) is None:
            return True
        self.r.enter(False)
        _set_state(self.ledger, self.r.holder, "GATED", frm=("GRANTED",))
        log.info(why)
        self.asked, self.why = time.monotonic(), why
        _stale(self.ledger)
        return False


GATE_S = 1.0


def _set_state(ledger: Ledger, holder: str, state: str, frm: tuple[str, ...] = ("WAITING", "GATED")) -> None:
    with ledger.session() as s:
        s.execute(update(m.DispatchRequest).where(m.DispatchRequest.holder == holder,
                                                  m.DispatchRequest.state.in_(frm))
                  .values(state=state), execution_options={"synchronize_session": False})


def _collect(ledger: Ledger, r: Request, tool: str, max_wafers: int, max_wait_s: float) -> tuple[dict[str, Any], ...]:
    """The lots the leader `r` takes into its job on `tool`: waiting steps of the same recipe body
    that may run there, best-ranked first, while the wafers fit — waiting up to `max_wait_s` for
    more while there is room."""
    assert r.batch is not None
    room, taken = max_wafers - r.batch.wafers, []
    until = time.monotonic() + max_wait_s
    if r.due_at is not None:             # never wait for company past a queue-time deadline
        until = min(until, time.monotonic() + (r.due_at - m.utcnow()).total_seconds())
    while room > 0:
        now = m.utcnow()
        with ledger.session() as s:
            rows = list(s.scalars(select(m.DispatchRequest).where(
                m.DispatchRequest.state == "WAITING", m.DispatchRequest.batch_key == r.batch.key,
                m.DispatchRequest.holder != r.holder)))
            lots = {lease.tool_id: lease for lease in s.scalars(select(m.ToolLease).where(
                m.ToolLease.tool_id.in_({f"lot:{row.lot_id}" for row in rows})))}
        ranked = sorted((row for row in rows if tool in row.tools["ids"] and row.member
                         and (row.due_at is None or m.as_utc(row.due_at) > now)       # past its limit: held, not taken
                         and _alive(lots.get(f"lot:{row.lot_id}"), now)), key=lambda row: rank_key(_waiting(row), now))
        for row in ranked:
            if 0 < row.wafer_count <= room and _move(ledger, row.holder, "BATCHED", tool, r.holder):
                taken.append(dict(row.member or {}, holder=row.holder))
                room -= row.wafer_count
                if row.due_at is not None:
                    until = min(until, time.monotonic() + (m.as_utc(row.due_at) - now).total_seconds())
        left = until - time.monotonic()
        if room <= 0 or left <= 0:
            break
        time.sleep(min(POLL_S, left))
    if taken:
        _stale(ledger)     # this process's waiters see they were taken at their next look
    return tuple(taken)
