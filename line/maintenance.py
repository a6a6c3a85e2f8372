"""Maintenance as operator actions, recorded in the ledger with who, when and why:

- a consumable restarted (`bath-replenish`, `anode-change`, `target-change <material>`,
  `stencil-wipe` — the kind's spec declares them): the technician's work is told to the tool over its
  protocol so the tool's own counter restarts, with the tool held (its lease) so no lot starts on it
  meanwhile;
- a tool taken **down** (scheduled or unscheduled downtime, or engineering) and brought **up**: down
  holds the tool's lease until up, so dispatch passes it over and lots wait for another tool (or for
  it); E10 counts the period in that state.

A tool running a lot's job is refused (named with the job) unless the caller waits for it."""
from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select

from drivers.base import ToolDriver
from drivers.errors import BumplineError, ToolError
from drivers.registry import SPECS
from line.config import ToolConfig
from line.ledger import Ledger
from line.ledger import models as m

DOWN = {"scheduled": "SCHEDULED_DOWNTIME", "unscheduled": "UNSCHEDULED_DOWNTIME", "engineering": "ENGINEERING"}
HOLDER = "maintenance:"
DOWN_TTL_S = 10 * 365 * 86400.0        # a down lasts until someone brings the tool up
ACTION_TTL_S = 300.0


class MaintenanceRefused(BumplineError):
    """The action cannot be done now or as asked; the message says why and what to do."""


def open_down(ledger: Ledger, tool_id: str) -> m.Maintenance | None:
    with ledger.session() as s:
        return s.scalars(select(m.Maintenance).where(m.Maintenance.tool_id == tool_id, m.Maintenance.action == "down",
                                                     m.Maintenance.ended_at.is_(None))).first()


def open_downs(ledger: Ledger) -> dict[str, m.Maintenance]:
    with ledger.session() as s:
        return {d.tool_id: d for d in s.scalars(select(m.Maintenance).where(
            m.Maintenance.action == "down", m.Maintenance.ended_at.is_(None)))}


def down_text(d: m.Maintenance) -> str:
    kind = next((k for k, v in DOWN.items() if v == d.e10), d.e10)
    return f"down ({kind}) by {d.by} since {d.started_at:%Y-%m-%d %H:%M:%S}" + (f": {d.note}" if d.note else "")


def _signed(by: str) -> str:
    if not by.strip():
        raise MaintenanceRefused("maintenance needs who does it (--by)")
    return by.strip()


def _busy(ledger: Ledger, tool_id: str, what: str) -> MaintenanceRefused:
    holder = ledger.lease_holder(tool_id) or "someone"
    return MaintenanceRefused(f"{tool_id} is held by {holder}: {what} when it is free (or wait for it)")


def take_down(ledger: Ledger, tool_id: str, kind: str, by: str, note: str = "", wait_s: float = 0.0) -> m.Maintenance:
    """Take the tool down: its lease is held until `bring_up`, so no lot is dispatched to it."""
    by = _signed(by)
    if kind not in DOWN:
        raise MaintenanceRefused(f"a down is one of {', '.join(DOWN)}, not {kind!r}")
    if (d := open_down(ledger, tool_id)) is not None:
        raise MaintenanceRefused(f"{tool_id} is already {down_text(d)}")
    holder = f"{HOLDER}{kind}:{by}"
    if not _acquire(ledger, tool_id, holder, DOWN_TTL_S, wait_s):
        raise _busy(ledger, tool_id, "it goes down")
    with ledger.session() as s:
        row = m.Maintenance(tool_id=tool_id, action="down", e10=DOWN[kind], by=by, note=note)
        s.add(row)
        s.add(m.Event(entity="maintenance", entity_id=tool_id, source="", dest=DOWN[kind], trigger="down",
                      data={"by": by, "note": note}))
        s.flush()
        return row


def bring_up(ledger: Ledger, tool_id: str, by: str, note: str = "") -> m.Maintenance:
    """End the tool's down: recorded with who and when; its lease is released for dispatch."""
    by = _signed(by)
    with ledger.session() as s:
        row = s.scalars(select(m.Maintenance).where(m.Maintenance.tool_id == tool_id, m.Maintenance.action == "down",
                                                    m.Maintenance.ended_at.is_(None))).first()
        if row is None:
            raise MaintenanceRefused(f"{tool_id} is not down")
        row.ended_at, row.ended_by = m.utcnow(), by
        if note:
            row.note = f"{row.note}; up: {note}" if row.note else f"up: {note}"
        s.add(m.Event(entity="maintenance", entity_id=tool_id, source=row.e10, dest="", trigger="up",
                      data={"by": by, "note": note}))
    holder = ledger.lease_holder(tool_id)
    if holder and holder.startswith(HOLDER):
        ledger.release_lease(tool_id, holder)
    return row


def perform(ledger: Ledger, tool: ToolConfig, action: str, by: str, note: str = "", item: str = "",
            driver_factory: Callable[[ToolConfig], ToolDriver] | None = None, wait_s: float = 0.0) -> m.Maintenance:
    """Tell the tool a technician did `action` (to `item`), with the tool held meanwhile; record it.
    Allowed while the tool is down (that is when technicians work)."""
    by = _signed(by)
    try:
        item = SPECS[tool.kind].maintenance_action(action).check(item)
    except BumplineError as exc:
        raise MaintenanceRefused(f"{tool.id}: {exc}") from None
    if driver_factory is None:
        from line.steps import vendor_driver
        driver_factory = vendor_driver
    down = open_down(ledger, tool.id)
    holder = f"{HOLDER}{action}:{by}"

    def tell() -> None:
        driver = driver_factory(tool)
        try:
            driver.connect()
            driver.maintain(action, item)
        except ToolError as exc:
            raise MaintenanceRefused(f"{tool.id} did not take {action}: {exc.message}") from None
        finally:
            driver.close()

    if down is not None:
        tell()
    else:
        if not _acquire(ledger, tool.id, holder, ACTION_TTL_S, wait_s):
            raise _busy(ledger, tool.id, f"{action} is told")
        try:
            tell()
        finally:
            ledger.release_lease(tool.id, holder)
    with ledger.session() as s:
        row = m.Maintenance(tool_id=tool.id, action=action, item=item, by=by, note=note, ended_at=m.utcnow(),
                            ended_by=by)
        s.add(row)
        s.add(m.Event(entity="maintenance", entity_id=tool.id, source="", dest=action, trigger="maintain",
                      data={"by": by, "item": item, "note": note}))
        s.flush()
        return row


def history(ledger: Ledger, tool_id: str | None = None, limit: int = 50) -> list[m.Maintenance]:
    with ledger.session() as s:
        q = select(m.Maintenance).order_by(m.Maintenance.id.desc()).limit(limit)
        if tool_id:
            q = q.where(m.Maintenance.tool_id == tool_id)
        return list(s.scalars(q))


def _acquire(ledger: Ledger, tool_id: str, holder: str, ttl_s: float, wait_s: float) -> bool:
    """Take the tool's lease, waiting up to `wait_s` for the job holding it; False when it stayed held."""
    deadline = time.monotonic() + max(0.0, wait_s)
    while not ledger.acquire_lease(tool_id, holder, ttl_s):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)
    return True
