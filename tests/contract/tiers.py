"""The three tiers of a tool, built the same way for every kind: `mock` (a recording backend, no
simulator), `inprocess` (the simulator's physics, no socket) and `socket` (the simulator behind its
real protocol, driven over pyvisa-py or pymodbus). Each yields a `Bench`: the driver, and how to ask
the tool (simulated or mocked) how many times a job was started."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from drivers.base import ToolDriver
from drivers.mock import RecordingBackend, Script
from drivers.registry import SPECS, driver_class
from drivers.transport.address import Address
from drivers.vendors import vendors
from line.recipes.tool_recipe import load_tool_recipe

ROOT = Path(__file__).resolve().parents[2]
SPEED = 2000.0

KINDS = sorted(SPECS)
TARGETS = [(kind, v.name) for kind in KINDS for v in vendors(kind)]   # every kind × each vendor backend
"""(kind, vendor) pairs: the socket tier speaks each vendor's protocol."""


@cache
def contract_recipe(kind: str, root: Path = ROOT) -> Path:
    """The kind's quickest shipped recipe (by its own job-time model): a kind added with one recipe
    is in the contract suite with nothing to register."""
    spec = SPECS[kind]
    shipped = sorted((root / "recipes" / kind).glob("*.yaml"))
    if not shipped:
        raise LookupError(f"recipes/{kind}/ has no recipe for the contract suite to run")
    return min(shipped, key=lambda p: spec.job_time_s(load_tool_recipe(p).body, 3, {}))


def body(kind: str) -> dict[str, Any]:
    return dict(load_tool_recipe(contract_recipe(kind)).body)


@dataclass
class Bench:
    driver: ToolDriver
    make_driver: Callable[[], ToolDriver]
    """a second driver for the same tool (a host that restarted)"""
    start_count: Callable[[str], int]
    tier: str
    line: Any = None
    backend: Any = None


@contextmanager
def bench(tier: str, kind: str, vendor: str = "", wafers: list[str] | None = None, **options: Any) -> Iterator[Bench]:
    """One tool of `kind` on `tier`; a fresh simulator per use, so no test sees another's state."""
    tool_id = "T1"
    if tier == "mock":
        backend = RecordingBackend(tool_id, SPECS[kind], Script())     # healthy readings: the spec's
        def make() -> ToolDriver:
            return driver_class(kind)(tool_id, backend=backend)
        yield Bench(make(), make, lambda job: backend.jobs[job].start_count if job in backend.jobs else 0, tier,
                    backend=backend)
        return
    from sim_hw.inprocess import in_process_backend
    from sim_hw.line import SimLine, SimToolSpec

    spec = SimToolSpec(tool_id, kind, options=options, protocol=protocol_of(kind, vendor))
    line = SimLine([spec], speed=SPEED, seed=7, control_port=None, serve=tier == "socket").start_in_thread()
    try:
        for w in wafers or []:      # as the kind's step usually receives them (a plater: on a seed)
            line.tool(tool_id).typical_incoming(line.world, w)
        if tier == "inprocess":
            def make() -> ToolDriver:
                return driver_class(kind)(tool_id, backend=in_process_backend(line, tool_id))
        else:
            make = socket_driver_factory(line, tool_id, kind, vendor)
        sim_tool = line.tool(tool_id)
        yield Bench(make(), make, lambda job: sim_tool.jobs[job].start_count if job in sim_tool.jobs else 0, tier,
                    line=line)
    finally:
        line.stop_thread()


def protocol_of(kind: str, vendor: str) -> str:
    """The protocol a vendor of the kind speaks ("" for the kind's default)."""
    return next(v.protocol for v in vendors(kind) if v.name == vendor) if vendor else ""


def socket_driver_factory(line: Any, tool_id: str, kind: str, vendor: str = "",
                          timeout_s: float = 2.0) -> Callable[[], ToolDriver]:
    """Drivers for a simulated tool served on loopback, over its real protocol (auxiliary endpoints too)."""
    servers = line.servers[tool_id]
    protocol = protocol_of(kind, vendor)
    address = str(Address("visa-socket" if protocol == "scpi" or type(servers["main"]).__name__ == "ScpiServer"
                          else "modbus-tcp", "127.0.0.1", servers["main"].port))
    endpoints = {n: str(Address("visa-socket", "127.0.0.1", s.port)) for n, s in servers.items() if n != "main"}

    def make() -> ToolDriver:
        return driver_class(kind)(tool_id, address, vendor=vendor, endpoints=endpoints, timeout_s=timeout_s)
    return make
