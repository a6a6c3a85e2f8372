"""The ledger's leases: who holds a tool (or, as `lot:<id>`, a lot's orchestrator), until when, and
every acquire, renewal, release, lapse and break as an event of its subject. A mixin of `Ledger`
(its own module to keep the store readable)."""
from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from line.ledger import hot_statements as hot
from line.ledger import models as m
from line.ledger.core_rows import event_row, insert_events


class LeaseRecords:
    def session(self) -> AbstractContextManager[Session]:
        """One transaction (Ledger's)."""
        raise NotImplementedError

    def acquire_lease(self, tool_id: str, holder: str, ttl_s: float) -> bool:
        """Take the tool if it is free, its lease expired (recorded as a `lapse` of the old holder's),
        or we already hold it. Core rows (every step takes and gives back a tool); of two that race
        for a free tool, the second INSERT meets the key and loses."""
        now = m.utcnow()
        events: list[dict[str, Any]] = []
        try:
            with self.session() as s:
                lease = s.execute(hot.LEASE_OF, {"tool": tool_id}).first()
                if lease is not None:
                    expires = m.as_utc(lease.expires_at)
                    if lease.holder != holder and expires > now:
                        return False
                    s.execute(hot.LEASE_DROP, {"tool": tool_id, "held_by": lease.holder})
                    if lease.holder != holder:      # a lapsed holder: say whose lease was taken over
                        events.append(_lease_event(tool_id, source="LEASED", trigger="lapse",
                                                   data={"holder": lease.holder, "expired_at": expires.isoformat()}))
                s.execute(hot.LEASE_INSERT, {"tool_id": tool_id, "holder": holder, "acquired_at": now,
                                           "expires_at": now + timedelta(seconds=ttl_s)})
                insert_events(s, [*events, _lease_event(tool_id, dest="LEASED", trigger="acquire",
                                                        data={"holder": holder, "ttl_s": ttl_s})])
            return True
        except IntegrityError:
            return False

    def renew_lease(self, tool_id: str, holder: str, ttl_s: float) -> bool:
        with self.session() as s:
            n = cast(CursorResult, s.execute(hot.LEASE_RENEW, {"tool": tool_id, "held_by": holder,
                                                               "until": m.utcnow() + timedelta(seconds=ttl_s)})).rowcount
        return bool(n)

    def release_lease(self, tool_id: str, holder: str) -> None:
        self._drop(tool_id, holder, "release", {"holder": holder})

    def leases(self) -> list[tuple[str, str]]:
        """Every lease held, (key, holder): a tool id, or `lot:<id>` for a lot's orchestrator."""
        with self.session() as s:
            return [(lease.tool_id, lease.holder) for lease in s.scalars(select(m.ToolLease))]

    def lease_holder(self, tool_id: str) -> str | None:
        with self.session() as s:
            lease = s.execute(hot.LEASE_OF, {"tool": tool_id}).first()
            return lease.holder if lease else None

    def lease(self, tool_id: str) -> tuple[str, bool] | None:
        """(holder, expired) of a lease, or None when nobody holds it."""
        with self.session() as s:
            lease = s.execute(hot.LEASE_OF, {"tool": tool_id}).first()
            if lease is None:
                return None
            expires = m.as_utc(lease.expires_at)
            return lease.holder, expires <= m.utcnow()

    def break_lease(self, tool_id: str, holder: str, reason: str) -> None:
        """Take a dead holder's lease away now (its process is known to be gone), with the reason."""
        self._drop(tool_id, holder, "break", {"holder": holder, "reason": reason})

    def _drop(self, tool_id: str, holder: str, trigger: str, data: dict[str, str]) -> None:
        """The holder's lease gone, and the event saying why — only if it still held it."""
        with self.session() as s:
            n = cast(CursorResult, s.execute(hot.LEASE_DROP, {"tool": tool_id, "held_by": holder})).rowcount
            if n:
                insert_events(s, [_lease_event(tool_id, source="LEASED", trigger=trigger, data=data)])


def _lease_event(key: str, source: str = "", dest: str = "", trigger: str = "",
                 data: dict[str, Any] | None = None) -> dict[str, Any]:
    """An event row of a lease's subject: the tool, or the lot for a `lot:<id>` lease."""
    entity, entity_id = ("lot", key[4:]) if key.startswith("lot:") else ("tool", key)
    return event_row(entity, entity_id, source, dest, trigger, data=data)
