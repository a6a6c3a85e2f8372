"""The three tiers of a tool, built the same way for every kind: `mock` (a recording backend, no
simulator), `inprocess` (the simulator's physics, no socket) and `socket` (the simulator behind its
real protocol, driven over pyvisa-py or pymodbus). Each yields a `Bench`: the driver, and how to ask
the tool (simulated or mocked) how many times a job was started."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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

# A quick shipped recipe per kind: a job of a few wafers lasts well under a second at SPEED.
RECIPES = {
    "sputter": "recipes/sputter/ti100-cu300-seed.yaml", "litho": "recipes/litho/sacpoly-site-island.yaml",
    "metrology": "recipes/metrology/bump-height.yaml", "oven": "recipes/oven/reflow-sac305.yaml",
    "plater": "recipes/plater/cu-1um-spacing-pad.yaml", "stencil_printer": "recipes/stencil_printer/sac305-bump-print.yaml",
    "wet_bench": "recipes/wet_bench/seed-etch-ti.yaml",
}
# What the mock tool reports live, so each kind's interlock lets its guarded phase in.
MOCK_READINGS = {
    "sputter": {"base_torr": 1e-7}, "oven": {"o2_ppm": 5.0}, "wet_bench": {"bath_temp_c": 25.0},
    "plater": {"bath_level_pct": 95.0, "bath_temp_c": 25.0, "installed_bath": "Cu-acid"},
}

KINDS = sorted(SPECS)
TARGETS = [(kind, v.name) for kind in KINDS for v in vendors(kind)]   # every kind × each vendor backend
"""(kind, vendor) pairs: the socket tier speaks each vendor's protocol."""


def body(kind: str) -> dict[str, Any]:
    return dict(load_tool_recipe(ROOT / RECIPES[kind]).body)


@dataclass
class Bench:
    driver: ToolDriver
    make_driver: Callable[[], ToolDriver]
    """a second driver for the same tool (a host that restarted)"""
    start_count: Callable[[str], int]
    tier: str
    line: Any = None
    backend: Any = None


def precondition(line: Any, kind: str, wafers: list[str]) -> None:
    """Wafers arrive as a kind's own step needs them (a plater plates only on a conductive seed)."""
    from sim_hw.world import Layer

    if kind == "plater":
        for w in wafers:
            regions = tuple(line.world.wafer(w).regions)
            line.world.deposit(w, regions, Layer("Ti", 100.0, "adhesion"))
            line.world.deposit(w, regions, Layer("Cu", 300.0, "seed"))


@contextmanager
def bench(tier: str, kind: str, vendor: str = "", wafers: list[str] | None = None, **options: Any) -> Iterator[Bench]:
    """One tool of `kind` on `tier`; a fresh simulator per use, so no test sees another's state."""
    tool_id = "T1"
    if tier == "mock":
        backend = RecordingBackend(tool_id, SPECS[kind], Script(readings=dict(MOCK_READINGS.get(kind, {}))))
        def make() -> ToolDriver:
            return driver_class(kind)(tool_id, backend=backend)
        yield Bench(make(), make, lambda job: backend.jobs[job].start_count if job in backend.jobs else 0, tier,
                    backend=backend)
        return
    from sim_hw.inprocess import in_process_backend
    from sim_hw.line import SimLine, SimToolSpec

    protocol = next(v.protocol for v in vendors(kind) if v.name == vendor) if vendor else ""
    spec = SimToolSpec(tool_id, kind, options=options, protocol=protocol)
    line = SimLine([spec], speed=SPEED, seed=7, control_port=None, serve=tier == "socket").start_in_thread()
    try:
        precondition(line, kind, wafers or [])
        if tier == "inprocess":
            def make() -> ToolDriver:
                return driver_class(kind)(tool_id, backend=in_process_backend(line, tool_id))
        else:
            servers = line.servers[tool_id]
            address = str(Address("visa-socket" if protocol == "scpi" or type(servers["main"]).__name__ == "ScpiServer"
                                  else "modbus-tcp", "127.0.0.1", servers["main"].port))
            endpoints = {n: str(Address("visa-socket", "127.0.0.1", s.port)) for n, s in servers.items() if n != "main"}

            def make() -> ToolDriver:
                return driver_class(kind)(tool_id, address, vendor=vendor, endpoints=endpoints, timeout_s=2.0)
        sim_tool = line.tool(tool_id)
        yield Bench(make(), make, lambda job: sim_tool.jobs[job].start_count if job in sim_tool.jobs else 0, tier,
                    line=line)
    finally:
        line.stop_thread()
