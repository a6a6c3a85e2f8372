"""The ledger's hot writes and reads in SQLAlchemy Core, beside the ORM: a step writes events, moves
wafers and records results many times, and an ORM object per row (its identity map, unit of work,
bulk-insert bookkeeping) cost ~0.1–0.3 ms a statement more than the statement itself. Each helper
works inside the caller's session, so its transaction is the caller's."""
from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from drivers.errors import UnknownName
from line.ledger import hot_statements as hot
from line.ledger import models as m
from line.ledger.hot_statements import table


def wafer_column(s: Session, wafer_ids: list[str], column: str, known_only: bool = True) -> dict[str, str]:
    """One column of the wafers by id, in one query (a lot moves 25 at a time); a wafer the ledger
    does not know is a loud error (`known_only`), or left out. What the session holds is flushed
    first: a Core read does not autoflush, and must not read past a change the block made."""
    s.flush()
    w = table(m.Wafer)
    found = {wid: value for wid, value in s.execute(select(w.c.id, w.c[column]).where(w.c.id.in_(wafer_ids)))} \
        if wafer_ids else {}
    if known_only and (missing := [wid for wid in wafer_ids if wid not in found]):
        raise UnknownName(f"the ledger has no wafer {missing[0]!r}")
    return found


def update_wafers(s: Session, wafer_ids: list[str], **values: str) -> int:
    """One UPDATE of the wafers' columns — Core, as the hot path's reads are: no ORM object per
    wafer. A wafer object this session already holds (an operator's decision read it) is expired,
    so it is read again rather than believed. How many wafers the ledger has of these."""
    if not wafer_ids:
        return 0
    params = {"ids": wafer_ids, **{f"new_{c}": v for c, v in values.items()}}
    matched = cast(CursorResult, s.execute(hot.wafers_set(tuple(sorted(values))), params)).rowcount
    for wid in wafer_ids:
        if (held := s.identity_map.get(identity_key(m.Wafer, wid))) is not None:
            s.expire(held)
    return matched


def change_wafers(s: Session, wafer_ids: list[str], column: str, value: str, trigger: str,
                  step_run_id: int | None, data: dict[str, Any], **also: str) -> None:
    """Wafers' `column` (E90 state or location) set to `value` (and the `also` columns), with an
    event for each wafer it changes, from what it was — in two statements whatever the wafer count:
    the events are written from the wafers' rows by the database (INSERT … SELECT), not read into
    Python and written back (a lot moves 25 wafers at a time, several times a step). A wafer the
    ledger does not know is refused (`UnknownName`); the caller's transaction is then not to be
    committed (a block of its own rolls back whole)."""
    if not wafer_ids:
        return
    s.flush()               # a Core statement does not autoflush: events told before this one stay before it
    s.execute(hot.wafer_changes_told(column), {"ids": wafer_ids, "entity": "wafer", "value": value,
                                               "trigger": trigger, "run": step_run_id, "data": data, "at": m.utcnow()})
    if update_wafers(s, wafer_ids, **{column: value}, **also) != len(set(wafer_ids)):
        wafer_column(s, wafer_ids, column)      # names the first wafer the ledger does not know



def event_row(entity: str, entity_id: str, source: str = "", dest: str = "", trigger: str = "",
              step_run_id: int | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """One event row for `insert_events`: every column named, so the rows of one INSERT have one
    shape (Core sends rows of one shape as one statement)."""
    return {"entity": entity, "entity_id": entity_id, "source": source, "dest": dest, "trigger": trigger,
            "step_run_id": step_run_id, "data": data or {}}


def insert_events(s: Session, rows: list[dict[str, Any]]) -> None:
    """Event rows in one multi-row INSERT, in list order (a lot's 25 wafers move at once). What the
    session holds is flushed first (a Core INSERT does not autoflush), so the ledger's event order
    stays the order of telling."""
    if rows:
        s.flush()
        s.execute(hot.EVENTS_INSERT, rows)
