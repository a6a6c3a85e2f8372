"""Simulator per tool kind, discovered: every package `sim_hw/<kind>/` whose `sim.py` sets
`SIMULATOR = SimKind(...)`: the simulated tool class and the protocol servers that front it."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import sim_hw
from sim_hw.tool import SimTool

# (tool, host, {endpoint: port}) -> {endpoint: server}; the endpoint "main" is the tool's address.
ServerFactory = Callable[[SimTool, str, dict[str, int]], dict[str, Any]]


@dataclass(frozen=True)
class SimKind:
    tool: type[SimTool]
    servers: ServerFactory


def scpi_main(interface) -> ServerFactory:  # noqa: ANN001
    """The usual case: one SCPI socket server for the whole tool."""
    from sim_hw.scpi.server import ScpiServer

    return lambda tool, host, ports: {"main": ScpiServer(interface, tool, host, ports.get("main", 0))}


def plc_main(interface) -> ServerFactory:  # noqa: ANN001
    """A PLC tool: one Modbus TCP server."""
    from sim_hw.modbus.server import PlcServer

    return lambda tool, host, ports: {"main": PlcServer(interface, tool, host, ports.get("main", 0))}


@lru_cache(maxsize=1)
def simulators() -> dict[str, SimKind]:
    from drivers.plugins import discover

    return {kind.tool.kind: kind for kind in discover(sim_hw, "sim", "SIMULATOR")}
