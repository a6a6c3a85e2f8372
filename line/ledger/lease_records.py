"""The ledger's leases: who holds a tool (or, as `lot:<id>`, a lot's orchestrator), until when, and
every acquire, renewal, release, lapse and break as an event of its subject. A mixin of `Ledger`
(its own module to keep the store readable)."""
from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import timedelta
from typing import cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from line.ledger import models as m


class LeaseRecords:
    def session(self) -> AbstractContextManager[Session]:
        """One transaction (Ledger's)."""
        raise NotImplementedError

    def acquire_lease(self, tool_id: str, holder: str, ttl_s: float) -> bool:
        """Take the tool if it is free, its lease expired (recorded as a `lapse` of the old holder's),
        or we already hold it."""
        now = m.utcnow()
        try:
            with self.session() as s:
                lease = s.get(m.ToolLease, tool_id)
                if lease is not None:
                    expires = m.as_utc(lease.expires_at)
                    if lease.holder != holder and expires > now:
                        return False
                    s.execute(delete(m.ToolLease).where(m.ToolLease.tool_id == tool_id,
                                                        m.ToolLease.holder == lease.holder))
                    if lease.holder != holder:      # a lapsed holder: say whose lease was taken over
                        s.add(m.Event(**_lease_subject(tool_id), source="LEASED", trigger="lapse",
                                      data={"holder": lease.holder, "expired_at": expires.isoformat()}))
                    s.flush()
                s.add(m.ToolLease(tool_id=tool_id, holder=holder, acquired_at=now,
                                  expires_at=now + timedelta(seconds=ttl_s)))
                s.add(m.Event(**_lease_subject(tool_id), dest="LEASED", trigger="acquire",
                              data={"holder": holder, "ttl_s": ttl_s}))
            return True
        except IntegrityError:
            return False

    def renew_lease(self, tool_id: str, holder: str, ttl_s: float) -> bool:
        with self.session() as s:
            lease = s.get(m.ToolLease, tool_id)
            if lease is None or lease.holder != holder:
                return False
            lease.expires_at = m.utcnow() + timedelta(seconds=ttl_s)
            return True

    def release_lease(self, tool_id: str, holder: str) -> None:
        self._drop(tool_id, holder, "release", {"holder": holder})

    def leases(self) -> list[tuple[str, str]]:
        """Every lease held, (key, holder): a tool id, or `lot:<id>` for a lot's orchestrator."""
        with self.session() as s:
            return [(lease.tool_id, lease.holder) for lease in s.scalars(select(m.ToolLease))]

    def lease_holder(self, tool_id: str) -> str | None:
        with self.session() as s:
            lease = s.get(m.ToolLease, tool_id)
            return lease.holder if lease else None

    def lease(self, tool_id: str) -> tuple[str, bool] | None:
        """(holder, expired) of a lease, or None when nobody holds it."""
        with self.session() as s:
            lease = s.get(m.ToolLease, tool_id)
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
            n = cast(CursorResult, s.execute(delete(m.ToolLease).where(m.ToolLease.tool_id == tool_id,
                                                                        m.ToolLease.holder == holder))).rowcount
            if n:
                s.add(m.Event(**_lease_subject(tool_id), source="LEASED", trigger=trigger, data=data))


def _lease_subject(key: str) -> dict[str, str]:
    """A lease event belongs to the tool, or to the lot for a `lot:<id>` lease."""
    if key.startswith("lot:"):
        return {"entity": "lot", "entity_id": key[4:]}
    return {"entity": "tool", "entity_id": key}
