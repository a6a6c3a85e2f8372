"""How a job with host-side interlocks is polled (policy only): at the fastest rate from START until
its first guarded-phase entry is seen, paced between entries, and at the fastest rate again from
`EARLY_SHARE` of the expected gap before each next one."""
from __future__ import annotations

import pytest

from line.pacing import (
    EARLY_SHARE,
    END_SLACK_S,
    MAX_POLL_S,
    MIN_POLL_S,
    OVERRUN_MIN_S,
    guard_entries_wall,
    guard_watch_in,
    next_poll_in,
)

ENTRIES = [10.0, 30.0, 70.0]      # wall seconds from START


def test_a_guarded_job_is_watched_from_start_until_its_first_entry_is_seen():
    assert guard_watch_in(0.0, ENTRIES, seen=0, last_seen_s=0.0) == 0.0
    assert guard_watch_in(25.0, ENTRIES, seen=0, last_seen_s=0.0) == 0.0     # late: still watched


def test_between_entries_the_watch_opens_early_share_of_the_gap_after_the_last_seen():
    seen_at = 11.0                                                          # the tool was a second late
    opens = seen_at + EARLY_SHARE * (30.0 - 10.0)
    assert guard_watch_in(12.0, ENTRIES, seen=1, last_seen_s=seen_at) == pytest.approx(opens - 12.0)
    assert guard_watch_in(opens + 1, ENTRIES, seen=1, last_seen_s=seen_at) == 0.0
    assert guard_watch_in(40.0, ENTRIES, seen=3, last_seen_s=69.0) is None    # every entry seen: paced only


def test_entries_scale_with_the_jobs_expected_wall_length():
    assert guard_entries_wall([300.0, 900.0], 1200.0, 2.0) == pytest.approx([0.5, 1.5])
    assert guard_entries_wall(None, 1200.0, 2.0) is None and guard_entries_wall([1.0], 1200.0, None) is None


def test_a_paced_job_is_polled_closing_in_on_its_expected_end_then_just_past_it():
    assert next_poll_in(0.0, None) == MIN_POLL_S
    assert next_poll_in(0.0, 1000.0) == MAX_POLL_S
    assert next_poll_in(99.8, 100.0) == pytest.approx(0.1)                       # closing in
    assert next_poll_in(99.95, 100.0) == pytest.approx(0.05 + END_SLACK_S)       # aimed at the end itself
    assert next_poll_in(100.004, 100.0) == OVERRUN_MIN_S                        # just late: seen within 10 ms
    assert next_poll_in(102.0, 100.0) == pytest.approx(0.5) and next_poll_in(500.0, 100.0) == MAX_POLL_S
