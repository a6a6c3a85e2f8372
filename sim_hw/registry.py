"""Simulator per tool kind, with the protocol server that fronts it."""
from __future__ import annotations

from typing import Any, Callable

from drivers.sputter.interface import INTERFACE as SPUTTER_SCPI
from sim_hw.scpi.server import ScpiServer
from sim_hw.sputter.sim import SputterSim
from sim_hw.tool import SimTool

ServerFactory = Callable[[SimTool, str, int], Any]

SIMULATORS: dict[str, tuple[type[SimTool], ServerFactory]] = {
    "sputter": (SputterSim, lambda tool, host, port: ScpiServer(SPUTTER_SCPI, tool, host, port)),
}
