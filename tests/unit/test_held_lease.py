"""A held lease let go early (`Held.let_go`): released once however often it is asked, and a
release that failed is tried again at the end of the block — policy, on a stand-in ledger."""
from __future__ import annotations

import pytest

from line.leases import held


class FlakyLedger:
    """Releases fail `failures` times, then work; renewals always do."""

    def __init__(self, failures: int) -> None:
        self.failures, self.released = failures, 0

    def renew_lease(self, tool_id: str, holder: str, ttl_s: float) -> bool:
        return True

    def release_lease(self, tool_id: str, holder: str) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("the database went away")
        self.released += 1


def test_a_lease_let_go_early_is_released_once() -> None:
    ledger = FlakyLedger(failures=0)
    with held(ledger, "T1", "job", 60) as lease:   # type: ignore[arg-type]
        lease.let_go()
        lease.let_go()
        assert ledger.released == 1
    assert ledger.released == 1


def test_a_release_that_failed_early_is_tried_again_at_the_blocks_end() -> None:
    ledger = FlakyLedger(failures=1)
    with held(ledger, "T1", "job", 60) as lease:   # type: ignore[arg-type]
        with pytest.raises(OSError):
            lease.let_go()
        assert ledger.released == 0
    assert ledger.released == 1
