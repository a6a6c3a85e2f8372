"""Virtual clock: simulated seconds run `speed` times faster than wall seconds."""
from __future__ import annotations

import asyncio
import threading
import time

from drivers.errors import BadValue


class VirtualClock:
    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise BadValue("clock speed must be positive")
        self._lock = threading.Lock()
        self._speed = float(speed)
        self._wall0 = time.monotonic()
        self._sim0 = 0.0

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        """Simulated seconds since the clock was made."""
        with self._lock:
            return self._sim0 + (time.monotonic() - self._wall0) * self._speed

    def set_speed(self, speed: float) -> None:
        """Change the speed without a jump in simulated time."""
        if speed <= 0:
            raise BadValue("clock speed must be positive")
        now = self.now()
        with self._lock:
            self._sim0, self._wall0, self._speed = now, time.monotonic(), float(speed)

    def wall(self, sim_seconds: float) -> float:
        return sim_seconds / self._speed

    async def sleep(self, sim_seconds: float) -> None:
        """Sleep for simulated seconds (in short wall slices so a speed change takes effect)."""
        await self.sleep_until(self.now() + max(0.0, sim_seconds))

    async def sleep_until(self, sim_time: float) -> None:
        """Sleep until the clock reads `sim_time` (at once if it already does)."""
        while (left := sim_time - self.now()) > 0:
            await asyncio.sleep(min(self.wall(left), 0.05))
