"""Tool leases in the ledger: one holder per tool, renewed while held, expiring if the holder dies."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

from line.ledger import Ledger


class ToolBusy(Exception):
    def __init__(self, tool_id: str, holder: str | None, waited_s: float) -> None:
        super().__init__(f"{tool_id} is held by {holder or 'someone'}; waited {waited_s:.0f} s")
        self.tool_id, self.holder = tool_id, holder


@contextmanager
def tool_lease(ledger: Ledger, tool_id: str, holder: str, ttl_s: float = 120.0,
               wait_s: float = 3600.0, poll_s: float = 0.5) -> Iterator[None]:
    """Hold `tool_id` for the block. A background thread renews at a third of the TTL; a holder
    killed with -9 stops renewing and the lease lapses after `ttl_s`."""
    start = time.monotonic()
    while not ledger.acquire_lease(tool_id, holder, ttl_s):
        if time.monotonic() - start > wait_s:
            raise ToolBusy(tool_id, ledger.lease_holder(tool_id), time.monotonic() - start)
        time.sleep(poll_s)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl_s / 3):
            ledger.renew_lease(tool_id, holder, ttl_s)

    renewer = threading.Thread(target=renew, name=f"lease-{tool_id}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join(5)
        ledger.release_lease(tool_id, holder)
