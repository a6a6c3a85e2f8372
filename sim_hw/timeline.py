"""A simulated job's own timeline: its phases are chained on scheduled simulated times, not on when
the event loop woke. A phase ends at its start + its length, and the next starts there; on a loaded
host a wake-up comes late in wall time, and at ×3000 a 20 ms delay is a simulated minute — chained
this way no delay ever stretches a job's simulated length or its physics. The cursor is a context
variable, so concurrent branches of one job (a plater's cells) each keep their own."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar

from sim_hw.clock import VirtualClock

_cursor: ContextVar[float | None] = ContextVar("sim_job_timeline", default=None)
"""where the running job's timeline stands, in simulated seconds (`JobTimeline.now`)"""


class JobTimeline:
    """What a simulated tool's job runs on: `now`, `sleep`, `integrate` on the job's timeline."""

    clock: VirtualClock
    reached: float = 0.0
    """the latest simulated time any branch of the running job reached"""

    def begin_timeline(self, t: float) -> None:
        """The running task's job starts at simulated time `t`."""
        self.reached = t
        _cursor.set(t)

    def now(self) -> float:
        """Simulated now on the running job's timeline (the clock, outside a job)."""
        cursor = _cursor.get()
        return cursor if cursor is not None else self.clock.now()

    async def sleep(self, sim_seconds: float) -> None:
        """Advance the job's timeline by `sim_seconds`, and wait until the clock reaches it."""
        cursor = _cursor.get()
        if cursor is None:
            await self.clock.sleep(sim_seconds)
            return
        self._advance(cursor + max(0.0, sim_seconds))
        await self.clock.sleep_until(cursor + max(0.0, sim_seconds))

    def _advance(self, t: float) -> None:
        _cursor.set(t)
        self.reached = max(self.reached, t)

    def resync(self) -> None:
        """After waiting on the world outside the job (a pause, an alarm, the host), the job's
        timeline goes on from the clock's now."""
        if (cursor := _cursor.get()) is not None:
            self._advance(max(cursor, self.clock.now()))

    def rejoin(self) -> None:
        """After concurrent branches of the job: the timeline goes on from the latest they reached."""
        if (cursor := _cursor.get()) is not None:
            self._advance(max(cursor, self.reached))

    async def integrate(self, step: Callable[[float], bool], dt: float = 1.0, tick_wall_s: float = 0.02) -> None:
        """Advance a model on the job's timeline: call `step(dt)` for every `dt` of simulated time
        that has passed, until it returns True — the job's time is then where the model ended, not
        when the loop noticed. The model's numbers do not depend on wall timing."""
        last = self.now()
        while True:
            await asyncio.sleep(tick_wall_s)
            now = self.clock.now()
            while now - last >= dt:
                last += dt
                if _cursor.get() is not None:
                    self._advance(last)
                if step(dt):
                    return
