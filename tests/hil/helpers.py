"""Shared pieces of the hardware-in-loop tests: simulated lines, drivers on their real ports, runs."""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from drivers.base import ToolDriver
from drivers.registry import driver_class
from drivers.transport.address import Address
from line.recipes.tool_recipe import load_tool_recipe
from sim_hw.line import SimLine, SimToolSpec

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def simline(*tools: tuple[str, str] | SimToolSpec, speed: float = 600, seed: int = 7) -> Iterator[SimLine]:
    specs = [t if isinstance(t, SimToolSpec) else SimToolSpec(*t) for t in tools]
    line = SimLine(specs, speed=speed, seed=seed, control_port=None).start_in_thread()
    try:
        yield line
    finally:
        line.stop_thread()


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


def wait_for(predicate, timeout_s: float = 30.0, poll_s: float = 0.02) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(poll_s)


def wafers(n: int, lot: str = "L1") -> list[str]:
    return [f"{lot}.{i:02d}" for i in range(1, n + 1)]
