"""Tool leases in the ledger: one holder per tool, renewed while held, expiring if the holder dies.

The ledger, not process memory, is the lock: it survives a crash of the holder (the lease lapses
after its TTL), it works across processes and machines, and every claim and release is an event.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from drivers.errors import BumplineError
from line.ledger import Ledger

log = logging.getLogger(__name__)


class ToolBusy(BumplineError):
    def __init__(self, tool_id: str, holder: str | None, waited_s: float) -> None:
        super().__init__(f"{tool_id} is held by {holder or 'someone'}; waited {waited_s:.0f} s")
        self.tool_id, self.holder = tool_id, holder


class _Released:
    """Wakes the steps waiting in this process's dispatch queue as soon as a tool is released here
    (a release elsewhere is seen at their next poll)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        """How many releases this process has seen (a cached read of the queue is older than a change)."""
        return self._generation

    def notify(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait_for_next(self, timeout_s: float) -> None:
        with self._cond:
            seen = self._generation
            self._cond.wait_for(lambda: self._generation != seen, timeout_s)


released = _Released()


class Held:
    """An acquired lease kept alive until `let_go()` (or the end of its `held` block, whichever is
    first): a step lets its tool go as soon as the tool has nothing more to tell it."""

    def __init__(self, ledger: Ledger, tool_id: str, holder: str, stop: threading.Event, renewer: threading.Thread) -> None:
        self.ledger, self.tool_id, self.holder = ledger, tool_id, holder
        self._stop, self._renewer = stop, renewer
        self._lock = threading.Lock()
        self._released = False

    def let_go(self) -> None:
        """Stop renewing and release; once released, a later call does nothing. A release that
        failed (the database away) raises, and the end of the `held` block tries it again."""
        with self._lock:
            if self._released:
                return
            self._stop.set()
            self._renewer.join(5)
            self.ledger.release_lease(self.tool_id, self.holder)
            self._released = True
        released.notify()


@contextmanager
def held(ledger: Ledger, tool_id: str, holder: str, ttl_s: float) -> Iterator[Held]:
    """Keep an acquired lease alive (renewed at a third of its TTL) and release it at the end.
    A holder killed with -9 stops renewing and the lease lapses after `ttl_s`."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl_s / 3):
            try:        # a database hiccup must not end the renewing: the next try may get through
                if not ledger.renew_lease(tool_id, holder, ttl_s):
                    log.error("lease %s of %s was lost (lapsed and taken over); its job ids keep the tools "
                              "from running anything twice", tool_id, holder)
            except Exception as exc:  # noqa: BLE001 - any failure of one renewal is retried, never fatal
                log.warning("lease %s of %s not renewed, trying again in %.0f s: %s", tool_id, holder, ttl_s / 3, exc)

    renewer = threading.Thread(target=renew, name=f"lease-{tool_id}", daemon=True)
    renewer.start()
    lease = Held(ledger, tool_id, holder, stop, renewer)
    try:
        yield lease
    finally:
        lease.let_go()


def _acquire_first(ledger: Ledger, tool_ids: list[str], holder: str, ttl_s: float, wait_s: float,
                   poll_s: float) -> str:
    start = time.monotonic()
    while True:
        for tool_id in tool_ids:
            if ledger.acquire_lease(tool_id, holder, ttl_s):
                return tool_id
        if time.monotonic() - start > wait_s:
            raise ToolBusy("/".join(tool_ids), ledger.lease_holder(tool_ids[0]), time.monotonic() - start)
        time.sleep(poll_s)


@contextmanager
def tool_lease(ledger: Ledger, tool_id: str, holder: str, ttl_s: float = 120.0,
               wait_s: float = 3600.0, poll_s: float = 0.5) -> Iterator[Held]:
    """Hold one tool for the block (or until `let_go()`), waiting while someone else has it."""
    _acquire_first(ledger, [tool_id], holder, ttl_s, wait_s, poll_s)
    with held(ledger, tool_id, holder, ttl_s) as lease:
        yield lease


# ---- the lot's own lease: one live orchestrator per lot -------------------------------------------
LOT_LEASE_TTL_S = float(os.environ.get("BUMPLINE_LOT_LEASE_TTL", "30"))


class LotBusy(BumplineError):
    def __init__(self, lot_id: str, holder: str) -> None:
        super().__init__(f"lot {lot_id} is being run by {holder}")
        self.lot_id, self.holder = lot_id, holder


def orchestrator_id(flow_run_id: str) -> str:
    """Who runs a lot: its flow run, and the host and process it lives in (to tell a dead one)."""
    return f"{flow_run_id}@{socket.gethostname()}:{os.getpid()}"


def flow_run_of(holder: str) -> str:
    return holder.split("@", 1)[0]


def holder_alive(holder: str) -> bool | None:
    """True/False when the holder's process is on this host; None when only its lease's expiry can tell."""
    try:
        _, where = holder.rsplit("@", 1)
        host, pid = where.rsplit(":", 1)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def lot_orphaned(ledger: Ledger, lot_id: str) -> str | None:
    """The holder of a lot whose orchestrator is gone (lease lapsed, or its process is dead), or
    '' when nobody holds it; None when a live orchestrator runs it."""
    lease = ledger.lease(f"lot:{lot_id}")
    if lease is None:
        return ""
    holder, expired = lease
    if expired or holder_alive(holder) is False:
        return holder
    return None


@contextmanager
def lot_lease(ledger: Ledger, lot_id: str, holder: str, ttl_s: float = LOT_LEASE_TTL_S) -> Iterator[str]:
    """Hold the lot for this orchestrator. A dead orchestrator's lease is broken at once when its
    process is known to be gone (same host), else when it lapses; a live one's raises LotBusy."""
    key = f"lot:{lot_id}"
    if not ledger.acquire_lease(key, holder, ttl_s):
        previous = lot_orphaned(ledger, lot_id)
        if previous is None:
            raise LotBusy(lot_id, ledger.lease_holder(key) or "another orchestrator")
        if previous:
            ledger.break_lease(key, previous, "its orchestrator's process is gone")
        if not ledger.acquire_lease(key, holder, ttl_s):
            raise LotBusy(lot_id, ledger.lease_holder(key) or "another orchestrator")
    with held(ledger, key, holder, ttl_s):
        yield holder


def release_finished(ledger: Ledger) -> list[str]:
    """Break the leases whose holder has finished — a tool still held by a step that ended, a lot lease
    of a lot that is COMPLETE or ABORTED — left by an orchestrator killed between its final commit and
    the release. Returns what was released, one line each."""
    out = []
    for key, holder in ledger.leases():
        if key.startswith("lot:"):
            lot = ledger.lot(key[4:])
            if lot is not None and lot.status in ("COMPLETE", "ABORTED"):
                ledger.break_lease(key, holder, f"lot {lot.id} is {lot.status}")
                out.append(f"{key} (lot {lot.status})")
            continue
        run = ledger.step_by_job(holder)
        if run is not None and run.status != "RUNNING":
            ledger.break_lease(key, holder, f"step {run.step_id} of lot {run.lot_id} ended {run.status}")
            out.append(f"{key} (held by {holder}, step ended {run.status})")
    return out
