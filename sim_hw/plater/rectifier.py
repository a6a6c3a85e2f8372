"""A cell's rectifier as an SCPI instrument: constant current with voltage compliance and an
output timer. During a job the PLC owns it (settings refused, OUTP OFF always allowed); when idle
the host may run it (dummy plating)."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from drivers.plater.interface import QUES_CV, QUES_NO_LOAD
from drivers.spec import COMMON_FAULTS
from drivers.vocabulary import DeviceError, ToolState
from sim_hw.clock import VirtualClock
from sim_hw.faults import FaultBook
from sim_hw.tool import SimError


class RectifierSim:
    def __init__(self, tool_id: str, cell: int, clock: VirtualClock,
                 load: Callable[[float], tuple[float, float, bool]]) -> None:
        self.name = f"{tool_id}.cell{cell}"
        self.cell, self.clock, self.load = cell, clock, load  # load(i_set) -> (amps, volts, compliance)
        self.faults = FaultBook(self.name, COMMON_FAULTS)
        self.set_a, self.protection_v, self.timer_s = 0.0, 10.0, 0.0
        self.output = False
        self.locked = False        # the PLC sequencer owns the rectifier during a job
        self.amps = self.volts = 0.0
        self.ques = 0
        self.manual_ah = 0.0
        self._task: asyncio.Task | None = None

    # what ScpiServer needs of any instrument
    alarm_rows: list[dict[str, Any]] = []

    @property
    def tool_state(self) -> str:
        return ToolState.EXECUTING if self.output else ToolState.IDLE

    def idn(self) -> tuple:
        return ("bumpline-sim", "RECTIFIER", self.name, "1.0")

    def reset(self) -> None:
        self._refuse_if_locked()
        self.set_output(False)
        self.set_a, self.timer_s = 0.0, 0.0

    def _refuse_if_locked(self) -> None:
        if self.locked:
            raise SimError(DeviceError.SETTINGS_CONFLICT, f"Settings conflict; {self.name} is under PLC control")

    # SCPI handlers
    def set_current(self, amps: float) -> None:
        self._refuse_if_locked()
        self.set_a = amps

    def get_current(self) -> tuple:
        return (self.set_a,)

    def set_protection(self, volts: float) -> None:
        self._refuse_if_locked()
        self.protection_v = volts

    def get_protection(self) -> tuple:
        return (self.protection_v,)

    def set_timer(self, seconds: float) -> None:
        self._refuse_if_locked()
        self.timer_s = seconds

    def set_output(self, on: bool) -> None:
        if on:
            self._refuse_if_locked()
            if self.output:            # declared idempotent (the transport may resend it): already on, one run
                return
            self.output = True
            self._task = asyncio.get_running_loop().create_task(self._manual_run())
            return
        self.output = False           # off is always allowed: it is the safe state
        self.amps = self.volts = 0.0
        self.ques = 0
        if self._task and not self._task.done():
            self._task.cancel()

    def get_output(self) -> tuple:
        return (self.output,)

    def measure_current(self) -> tuple:
        return (round(self.amps, 4),)

    def measure_voltage(self) -> tuple:
        return (round(self.volts, 4),)

    def questionable(self) -> tuple:
        return (self.ques,)

    # driven by the PLC sequencer or by the host's manual run
    def drive(self, amps: float, volts: float, compliance: bool) -> None:
        self.amps, self.volts = amps, volts
        self.ques = (QUES_CV if compliance else 0) | (QUES_NO_LOAD if amps < 1e-3 and self.output else 0)

    async def _manual_run(self) -> None:
        elapsed = 0.0
        try:
            while self.output and (self.timer_s <= 0 or elapsed < self.timer_s):
                await self.clock.sleep(1.0)
                elapsed += 1.0
                self.drive(*self.load(self.set_a))
                self.manual_ah += self.amps / 3600.0
        finally:
            if not self.locked:
                self.output = False
                self.drive(0.0, 0.0, False)
