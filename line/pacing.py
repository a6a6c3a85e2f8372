"""How long the host expects a job to run, on its own (wall) clock — so it polls a tool rarely while
the job has far to go and often near its end, instead of every 50 ms throughout.

The expectation is the kind's job-time model (the same process facts the simulator and the SimPy
model read: tool seconds from START to PROCESS_COMPLETE) over the line's clock speed (1 on a real
line; `simulation.speed` on a simulated one). What each tool really took is learnt as a ratio to the
model (a moving average per tool, and one for the whole line that a tool with no job yet starts
from), so a clock running at another speed than the line file says, or a model that is off for one
tool, costs a few polls on the first jobs and none after.

The bound that does not move: a running job is polled at least every `MAX_POLL_S` of wall time, so
an alarm is seen within that (plus one round trip) whatever the expectation says."""
from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

MIN_POLL_S = 0.05
"""the fastest a job is polled (its end, near the expected time; an overrun's first polls)"""
MAX_POLL_S = 1.0
"""the slowest: a running job's alarm or end is seen within this much wall time"""
LEARN_WEIGHT = 0.5
LINE = ""
"""the key of the line-wide ratio (no tool id is empty)"""
_learnt: dict[str, float] = {}
_lock = threading.Lock()


def expected_wall_s(tool_id: str, job_time_s: Any, body: dict[str, Any], n_wafers: int, options: dict[str, Any],
                    clock_speed: float) -> float | None:
    """Wall seconds the job should run from START, or None when the model cannot say (then the
    step polls at the fastest rate, as it always did)."""
    try:
        tool_s = float(job_time_s(body, n_wafers, options))
    except Exception as exc:  # noqa: BLE001 - a model that cannot price this body only costs polls
        log.debug("no job-time estimate for %s: %s", tool_id, exc)
        return None
    if not tool_s > 0 or clock_speed <= 0:
        return None
    with _lock:
        ratio = _learnt.get(tool_id, _learnt.get(LINE, 1.0))
    return tool_s / clock_speed * ratio


def learn(tool_id: str, expected_s: float | None, observed_s: float) -> None:
    """Fold what one job took (wall seconds from START to its end being seen) into the tool's ratio."""
    if not expected_s or observed_s <= 0:
        return
    with _lock:
        before = _learnt.get(tool_id, _learnt.get(LINE, 1.0))
        measured = before * observed_s / expected_s      # the ratio that would have predicted it
        _learnt[tool_id] = (1 - LEARN_WEIGHT) * before + LEARN_WEIGHT * measured
        _learnt[LINE] = (1 - LEARN_WEIGHT) * _learnt.get(LINE, 1.0) + LEARN_WEIGHT * measured


def next_poll_in(elapsed_s: float, expected_s: float | None, min_s: float = MIN_POLL_S,
                 max_s: float = MAX_POLL_S) -> float:
    """Wait before the next poll: half the time expected to remain (so the polls close in on the
    expected end), the fastest rate once it is near or past, and backing off again on a long
    overrun (a quarter of the overrun) — always within [min_s, max_s]."""
    if expected_s is None:
        return min_s
    remaining = expected_s - elapsed_s
    wait = remaining / 2 if remaining > 0 else -remaining / 4
    return min(max_s, max(min_s, wait))
