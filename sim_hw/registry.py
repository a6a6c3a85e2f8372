"""Simulator per tool kind, discovered: every package `sim_hw/<kind>/` whose `sim.py` sets
`SIMULATOR = SimKind(...)`: the simulated tool class and the protocol servers that front it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sim_hw
from drivers.errors import UnknownName
from drivers.modbus_jobs import PlcInterface
from drivers.scpi_spec import ScpiInterface
from sim_hw.tool import SimTool

# (tool, host, {endpoint: port}) -> {endpoint: server}; the endpoint "main" is the tool's address.
ServerFactory = Callable[[SimTool, str, dict[str, int]], dict[str, Any]]


@dataclass(frozen=True)
class SimKind:
    """The simulated tool class and, per protocol its vendors speak, the servers that front it (the
    first is the default; a second vendor of the kind speaking another protocol adds one)."""
    tool: type[SimTool]
    servers_by_protocol: dict[str, ServerFactory]

    def servers(self, protocol: str = "") -> ServerFactory:
        if not protocol:
            return next(iter(self.servers_by_protocol.values()))
        try:
            return self.servers_by_protocol[protocol]
        except KeyError:
            raise UnknownName(f"the {self.tool.kind} simulator speaks {', '.join(self.servers_by_protocol)}, "
                              f"not {protocol}") from None


def scpi_main(interface: ScpiInterface) -> ServerFactory:
    """The usual case: one SCPI socket server for the whole tool."""
    from sim_hw.scpi.server import ScpiServer

    return lambda tool, host, ports: {"main": ScpiServer(interface, tool, host, ports.get("main", 0))}


def plc_main(interface: PlcInterface) -> ServerFactory:
    """A PLC tool: one Modbus TCP server."""
    from sim_hw.modbus.server import PlcServer

    return lambda tool, host, ports: {"main": PlcServer(interface, tool, host, ports.get("main", 0))}


@lru_cache(maxsize=1)
def simulators() -> dict[str, SimKind]:
    from drivers.plugins import discover

    return {kind.tool.kind: kind for kind in discover(sim_hw, "sim", "SIMULATOR")}
