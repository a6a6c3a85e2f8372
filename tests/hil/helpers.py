"""Shared pieces of the hardware-in-loop tests: simulated lines, drivers on their real ports, runs."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from drivers.base import ToolDriver
from drivers.registry import driver_class
from drivers.transport.address import Address
from line.recipes.tool_recipe import load_tool_recipe
from sim_hw.line import SimLine

ROOT = Path(__file__).resolve().parents[2]



def driver(line: SimLine, tool_id: str, **kw: Any) -> ToolDriver:
    """The kind's driver, pointed at the simulator's real ports."""
    tool = line.tools[tool_id]
    main = line.servers[tool_id]["main"]
    protocol = "modbus-tcp" if type(main).__name__ == "PlcServer" else "visa-socket"
    endpoints = {n: str(Address("visa-socket", "127.0.0.1", s.port)) for n, s in line.servers[tool_id].items()
                 if n != "main"}
    return driver_class(tool.kind)(tool_id, str(Address(protocol, "127.0.0.1", main.port)), endpoints=endpoints, **kw)


def recipe(path: str, **changes: Any) -> dict[str, Any]:
    """A shipped recipe's parameters, with top-level fields replaced."""
    body = load_tool_recipe(ROOT / path).body
    return {**body, **changes}


def start(d: ToolDriver, body: dict[str, Any], wafers: list[str], job: str = "J1") -> ToolDriver:
    d.connect()
    d.setup(job, wafers, body)
    d.start()
    return d



def wafers(n: int, lot: str = "L1") -> list[str]:
    return [f"{lot}.{i:02d}" for i in range(1, n + 1)]
