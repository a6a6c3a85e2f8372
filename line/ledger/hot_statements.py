"""The statements of the ledger's hot path, each built once and run with bound values.

Measured here (CPU of one call, with its commit, on SQLite): building a SQLAlchemy statement for
each call — its clause coercions and cache key — cost more than running it. A step's latest run:
0.21 ms built per call, 0.08 built once; a lease taken, renewed and given back 1.25 → 0.86 ms; a
wafer's E90 state change (read, event INSERT, UPDATE) 0.65 ms → 0.35 ms as an INSERT … SELECT and
an UPDATE built once. A step runs ~80 statements. `bindparam` names what each call fills in (in an
UPDATE, never a column's own name: SQLAlchemy keeps those for itself). One hot statement lives
elsewhere for the same reason: a step's tool preference (`line.dispatch._standings`, SQL text built
once per tool count) — it asks a tool's last state as `line.tracking` defines it, and the ledger
package imports nothing of the line's modules."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Delete, Insert, Select, Table, Update, and_, bindparam, delete, insert, or_, select, update

from line.ledger import models as m


def table(model: type[Any]) -> Table:
    """A model's table: a Core INSERT into it skips the ORM's bulk-insert bookkeeping (~0.1 ms a
    statement) and sends rows of one shape as one statement (the ORM splits them by which values
    are None: a step's measurements went as four)."""
    return cast(Table, model.__table__)


_events, _wafers, _runs, _leases = table(m.Event), table(m.Wafer), table(m.StepRun), table(m.ToolLease)
_queue = table(m.DispatchRequest)

EVENTS_INSERT: Insert = insert(_events)
"""event rows (`core_rows.event_row`), one or many"""

PROGRESS_SET: Update = update(_runs).where(_runs.c.id == bindparam("run")).values(progress=bindparam("new_progress"))
"""a step run's progress (a view's value): `run`, `new_progress` (an UPDATE's bound names differ from its columns')"""

LOT_WAFERS: Select[Any] = select(m.Wafer).where(m.Wafer.lot_id == bindparam("lot")).order_by(m.Wafer.slot)
"""a lot's wafers in slot order: `lot`"""

RESULTS_HELD: Select[Any] = select(m.WaferResult.wafer_id).where(m.WaferResult.step_run_id == bindparam("run"))
"""the wafers a step run has results of: `run`"""

INSERT_INTO: dict[type[Any], Insert] = {model: insert(table(model))
                                        for model in (m.WaferResult, m.Measurement, m.SiteMeasurement)}
"""a step's results, measurements and site maps, one multi-row INSERT each"""

STEP_RUN: Select[Any] = select(m.StepRun).where(m.StepRun.lot_id == bindparam("lot"), m.StepRun.step_id == bindparam("step"),
                                                m.StepRun.rework == bindparam("rework"))
"""a step's run at one rework: `lot`, `step`, `rework`"""

LAST_ATTEMPT: Select[Any] = select(_runs.c.id, _runs.c.rework, _runs.c.status) \
    .where(_runs.c.lot_id == bindparam("lot"), _runs.c.step_id == bindparam("step")) \
    .order_by(_runs.c.rework.desc()).limit(1)
"""a step's latest run: `lot`, `step`"""

LEASE_OF: Select[Any] = select(_leases.c.holder, _leases.c.expires_at).where(_leases.c.tool_id == bindparam("tool"))
"""who holds a lease and until when: `tool`"""

LEASE_DROP: Delete = delete(_leases).where(_leases.c.tool_id == bindparam("tool"), _leases.c.holder == bindparam("held_by"))
"""a holder's lease gone: `tool`, `held_by`"""

LEASE_INSERT: Insert = insert(_leases)
"""a lease row"""

LEASE_RENEW: Update = update(_leases).where(_leases.c.tool_id == bindparam("tool"), _leases.c.holder == bindparam("held_by")) \
    .values(expires_at=bindparam("until"))
"""a holder's lease extended: `tool`, `held_by`, `until`"""


@lru_cache(maxsize=8)
def wafers_set(columns: tuple[str, ...]) -> Update:
    """The UPDATE of these wafer columns: `ids`, `new_<column>`."""
    w = _wafers
    return update(w).where(w.c.id.in_(bindparam("ids", expanding=True))) \
        .values({c: bindparam(f"new_{c}", type_=w.c[c].type) for c in columns})


@lru_cache(maxsize=4)
def wafer_changes_told(column: str) -> Insert:
    """An event for each wafer whose `column` is not `value` yet, its source the column as it is, as
    one INSERT … SELECT — the database reads the wafers, not Python: `ids`, `entity`, `value`,
    `trigger`, `run`, `data`, `at` (one instant for the statement's rows)."""
    w, e = _wafers, _events
    told = select(bindparam("at", type_=e.c.at.type), bindparam("entity", type_=e.c.entity.type), w.c.id, w.c[column],
                  bindparam("value", type_=w.c[column].type), bindparam("trigger", type_=e.c.trigger.type),
                  bindparam("run", type_=e.c.step_run_id.type), bindparam("data", type_=e.c.data.type)) \
        .where(w.c.id.in_(bindparam("ids", expanding=True)), w.c[column] != bindparam("value")) \
        .order_by(w.c.lot_id, w.c.slot)
    return insert(e).from_select(["at", "entity", "entity_id", "source", "dest", "trigger", "step_run_id", "data"],
                                 told, include_defaults=False)


# ---- the dispatch queue (`line.dispatch_queue`): every step files, is granted and withdraws once,
# and every waiting step's process reads the queue every few hundred ms
RESERVED = "RESERVED"

QUEUE_FILE_CLEARS: Delete = delete(_queue).where(or_(
    _queue.c.holder == bindparam("held_by"),
    and_(_queue.c.state == RESERVED, or_(and_(_queue.c.lot_id == bindparam("lot"), _queue.c.step_id == bindparam("step")),
                                         _queue.c.due_at < bindparam("now")))))
"""before a step files: its earlier row, its own reservation and any reservation past its time"""

QUEUE_INSERT: Insert = insert(_queue)
"""a request row"""

QUEUE_MOVE: Update = update(_queue).where(_queue.c.holder == bindparam("held_by"),
                                          _queue.c.state.in_(bindparam("from_states", expanding=True))) \
    .values(state=bindparam("new_state"), tool_id=bindparam("new_tool"), batch_of=bindparam("new_leader"),
            granted_at=bindparam("new_at"))
"""a request out of one of `from_states`: `held_by`, `new_state`, `new_tool`, `new_leader`, `new_at`"""

QUEUE_WITHDRAW: Delete = delete(_queue).where(_queue.c.holder == bindparam("held_by"))
"""a request gone: `held_by`"""

QUEUE_OPEN: Select[Any] = select(_queue.c.id, _queue.c.holder, _queue.c.state, _queue.c.batch_of, _queue.c.tool_id,
                                 _queue.c.lot_id, _queue.c.tools, _queue.c.priority, _queue.c.to_bottleneck,
                                 _queue.c.queued_at, _queue.c.due_at, _queue.c.limit_s) \
    .where(_queue.c.state.in_(("WAITING", "BATCHED", RESERVED)))
"""the columns dispatch ranks by, of every request still open"""

LEASES_OF: Select[Any] = select(_leases.c.tool_id, _leases.c.holder, _leases.c.expires_at) \
    .where(_leases.c.tool_id.in_(bindparam("keys", expanding=True)))
"""the leases of these tools and `lot:<id>` keys: `keys`"""

ALARMS_OPEN: Select[Any] = select(m.Alarm).where(m.Alarm.tool_id == bindparam("tool"), m.Alarm.cleared_at.is_(None))
"""a tool's open alarms (ORM rows: closing one changes it): `tool`"""
