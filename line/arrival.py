"""Wafers arriving at the line. On a real line the load port and the MES know the wafers; on a
simulated line the simulator must be told which wafers arrived with which incoming design (the
route's `incoming` regions), through its control port — the only call from the line into a
simulator, and only for a lot the ledger has never seen (the simulator ignores a wafer it already
has, so a second arrival cannot reset one's physics)."""
from __future__ import annotations

import logging

from typing import TYPE_CHECKING

from line.config import LineConfig
from line.recipes.route import Route

if TYPE_CHECKING:
    from sim_hw.control import SimControl

log = logging.getLogger(__name__)


def control_for(cfg: LineConfig) -> "SimControl":
    """A client of the simulated line's control port (the line config's, else the default one)."""
    from sim_hw.control import SimControl

    host, port = (cfg.simulation.control if cfg.simulation else "127.0.0.1:15000").rsplit(":", 1)
    return SimControl(host, int(port))


def bring_onto_line(cfg: LineConfig, route: Route, lot_id: str, wafers: int) -> bool:
    """True when a simulator took the wafers; False on a real line or an unreachable simulator."""
    if cfg.simulation is None:
        return False
    design = {n: r.model_dump() for n, r in route.spec.incoming.items()}
    try:
        control_for(cfg).request("start_wafers", wafers=[f"{lot_id}.{i:02d}" for i in range(1, wafers + 1)],
                                            design=design)
        return True
    except OSError:
        log.warning("simulator control port %s not reachable: wafers start as generic incoming", cfg.simulation.control)
        return False
