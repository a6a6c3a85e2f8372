"""How long the host expects a job to run, on its own (wall) clock — so it polls a tool rarely while
the job has far to go and often near its end, instead of every 50 ms throughout.

The expectation is the kind's job-time model (the same process facts the simulator and the SimPy
model read: tool seconds from START to PROCESS_COMPLETE) over the line's clock speed (1 on a real
line; `simulation.speed` on a simulated one). What each tool really took is learnt as a ratio to the
model (a moving average per tool, and one for the whole line that a tool with no job yet starts
from), so a clock running at another speed than the line file says, or a model that is off for one
tool, costs a few polls on the first jobs and none after.

The bound that does not move: a running job is polled at least every `MAX_POLL_S` of wall time, so
an alarm is seen within that (plus one round trip) whatever the expectation says.

A tool with host-side interlocks is asked its guard when the job enters a guarded phase (oven heat,
plating, wet etch, sputter plasma), and only a poll that lands near that moment reads the readings
of that moment. So the kind says when it expects each entry (`KindSpec.guard_entries_s`) and such
a job is polled at the fastest rate from START until the first entry is seen, and again from
`EARLY_SHARE` of the expected gap after each entry seen until the next one is — a tool running up
to twice as fast as the model is still watched as closely as ever; between entries (hours of oven
heat, minutes of plating) it is paced like any other job."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

MIN_POLL_S = 0.05
"""the fastest a job is polled (its end, near the expected time; an overrun's first polls)"""
MAX_POLL_S = 1.0
"""the slowest: a running job's alarm or end is seen within this much wall time"""
END_SLACK_S = 0.002
"""the poll aimed at the expected end lands this much after it"""
OVERRUN_MIN_S = 0.01
"""the fastest poll of a job past its expected end"""
LEARN_WEIGHT = 0.5
EARLY_SHARE = 0.5
"""the next guarded-phase entry is watched at the fastest rate from this share of its expected gap"""
LINE = ""
"""the key of the line-wide ratio (no tool id is empty)"""
_learnt: dict[str, float] = {}
_lock = threading.Lock()


def expected_wall_s(tool_id: str, job_time_s: Any, body: dict[str, Any], n_wafers: int, options: dict[str, Any],
                    clock_speed: float) -> float | None:
    """Wall seconds the job should run from START, or None when the model cannot say (then the
    step polls at the fastest rate, as it always did)."""
    said = model_says(job_time_s, body, n_wafers, options)
    tool_s = float(said) if isinstance(said, (int, float)) else 0.0
    if not tool_s > 0 or clock_speed <= 0:
        return None
    with _lock:
        ratio = _learnt.get(tool_id, _learnt.get(LINE, 1.0))
    return tool_s / clock_speed * ratio


def model_says(model: Callable[[dict[str, Any], int, dict[str, Any]], Any] | None, body: dict[str, Any],
               n_wafers: int, options: dict[str, Any]) -> Any:
    """What one of a kind's models (job time, guarded-phase entries) says of this body, or None when
    the kind has none or it cannot say."""
    if model is None:
        return None
    try:
        return model(body, n_wafers, options)
    except Exception as exc:  # noqa: BLE001 - a model that cannot price this body only costs polls
        log.debug("no estimate from %s: %s", getattr(model, "__qualname__", model), exc)
        return None


def learn(tool_id: str, expected_s: float | None, observed_s: float) -> None:
    """Fold what one job took (wall seconds from START to its end being seen) into the tool's ratio."""
    if not expected_s or observed_s <= 0:
        return
    with _lock:
        before = _learnt.get(tool_id, _learnt.get(LINE, 1.0))
        measured = before * observed_s / expected_s      # the ratio that would have predicted it
        _learnt[tool_id] = (1 - LEARN_WEIGHT) * before + LEARN_WEIGHT * measured
        _learnt[LINE] = (1 - LEARN_WEIGHT) * _learnt.get(LINE, 1.0) + LEARN_WEIGHT * measured


def guard_entries_wall(tool_s: list[float] | None, job_tool_s: float | None, expected_wall_s: float | None
                       ) -> list[float] | None:
    """The expected guarded-phase entries in wall seconds from START, on the same scale as the job's
    expected length (clock speed and what the tool was learnt to take); None when unknown."""
    if tool_s is None or not job_tool_s or expected_wall_s is None:
        return None
    return [t * expected_wall_s / job_tool_s for t in tool_s]


def guard_watch_in(elapsed_s: float, entries_s: list[float], seen: int, last_seen_s: float) -> float | None:
    """Wall seconds until the next guarded-phase entry must be watched at the fastest rate (0: now),
    or None when every expected entry was seen. `seen` entries were followed, the last at
    `last_seen_s` (elapsed wall seconds); before the first, the job is watched from START."""
    if seen >= len(entries_s):
        return None
    if seen == 0:
        return 0.0
    gap = max(0.0, entries_s[seen] - entries_s[seen - 1])
    return max(0.0, last_seen_s + EARLY_SHARE * gap - elapsed_s)


def next_poll_in(elapsed_s: float, expected_s: float | None, min_s: float = MIN_POLL_S,
                 max_s: float = MAX_POLL_S) -> float:
    """Wait before the next poll: half the time expected to remain (so the polls close in on the
    expected end) down to `min_s`; then one poll aimed just past the expected end itself — a 50 ms
    step there would see the end up to 50 ms late, which a simulated clock turns into minutes of a
    tool held idle; past it, a quarter of the overrun, from `OVERRUN_MIN_S` (an end learnt well is
    a few ms late) backing off to `max_s` on a long one."""
    if expected_s is None:
        return min_s
    remaining = expected_s - elapsed_s
    if remaining > 2 * min_s:
        return min(max_s, remaining / 2)
    if remaining > 0:
        return remaining + END_SLACK_S
    return min(max_s, max(OVERRUN_MIN_S, -remaining / 4))

