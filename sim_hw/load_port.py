"""The simulated load port: the material-arrival implementation of a simulated line. It tells the
simulators' world model, through the control port, which wafers arrived with which incoming design."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sim_hw.control_client import SimControl, SimControlError

if TYPE_CHECKING:
    from line.config import LineConfig

log = logging.getLogger(__name__)


class SimulatedLoadPort:
    def __init__(self, cfg: LineConfig) -> None:
        control = cfg.simulation.control if cfg.simulation else "127.0.0.1:15000"
        host, port = control.rsplit(":", 1)
        self.control = SimControl(host, int(port), token_file=cfg.simulation.token_file if cfg.simulation else None)

    def arrive(self, lot_id: str, wafer_ids: list[str], design: dict[str, Any]) -> bool:
        try:
            self.control.request("start_wafers", wafers=wafer_ids, design=design)
            return True
        except (OSError, SimControlError):
            log.warning("simulator control port %s:%s not reachable: wafers start as generic incoming",
                        self.control.host, self.control.port)
            return False
