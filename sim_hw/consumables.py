"""Maintenance on a simulated tool: the host tells it what a technician did (SCPI `MAIN:DO`, the
PLC's MAINTAIN command) and the kind restarts that consumable's counter. Refused while a job runs
and for an action or item the kind does not declare, as a real controller would."""
from __future__ import annotations

from typing import Any, ClassVar

from drivers.errors import BumplineError
from drivers.spec import KindSpec
from drivers.vocabulary import DeviceError
from sim_hw.errors import SimError


class Consumables:
    spec: ClassVar[KindSpec]
    current: Any

    @property
    def busy(self) -> bool:
        raise NotImplementedError      # SimTool's

    def maintain(self, action: str, item: str = "-") -> None:
        if self.busy:
            raise SimError(DeviceError.BUSY, f"job {self.current.job_id} running: maintenance waits for it")
        try:
            item = self.spec.maintenance_action(action).check("" if item == "-" else item)
        except BumplineError as exc:
            raise SimError(DeviceError.ILLEGAL_VALUE, str(exc)[:60]) from None
        self.maintained(action, item)

    def maintained(self, action: str, item: str) -> None:
        """Restart the counter `action` resets (kinds with consumables override)."""
