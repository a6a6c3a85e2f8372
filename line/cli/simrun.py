"""Run lots on a simulated line inside this process — the simulators on a thread, each lot a
`lot_flow` on a pool thread (a Prefect flow run each) — and hand back what the world model holds
after. `bumpline demo` and the mutation oracle (`bumpline recipe mutate --simulate`) both use it."""
from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.live import Live
from rich.table import Table

from line.cli.common import console, warm_up
from line.cli.sim import sim_line
from line.config import LineConfig, rebind_ports, save_line
from line.recipes.route import Route


@dataclass
class SimRun:
    results: dict[str, dict[str, Any]]     # lot id → the flow's outcome (or FAILED with the reason)
    world: dict[str, Any]                  # the world model after every lot ended
    wall_s: float
    sim_s: float


def run_lots(cfg: LineConfig, lots: dict[str, Route], wafers: int, speed: float, recipes: str = "recipes",
             db_url: str | None = None, parallel: int | None = None,
             progress: Callable[[float], Table] | None = None) -> SimRun:
    """Every lot's wafers arrive with its product's design, then all lots run at once (at most
    `parallel` at a time); `progress(started)` is drawn live while they run."""
    from line.lot_flow import drive_lot

    simline = sim_line(cfg, any_port=True, speed=speed).start_in_thread()
    for h in logging.getLogger("prefect").handlers:
        h.setLevel(logging.WARNING)
    try:
        for lot_id, route in lots.items():
            design = route.design()
            for slot in range(1, wafers + 1):
                simline.world.start_wafer(f"{lot_id}.{slot:02d}", design)
        console.print(f"simulated line {cfg.metadata.name}: {len(simline.tools)} tools, clock ×{speed:g}; "
                      f"{len(lots)} lots of {wafers} wafers")
        warm_up()
        bound = save_line(rebind_ports(cfg, simline.ports(), simline.endpoint_ports(), speed=simline.clock.speed),
                          Path(tempfile.mkdtemp(prefix="bumpline-simrun-")) / "line.yaml")
        started = time.monotonic()
        results: dict[str, dict[str, Any]] = {}
        with ThreadPoolExecutor(max_workers=parallel or len(lots), thread_name_prefix="lot") as pool:
            futures = {lot_id: pool.submit(drive_lot, lot_id, str(route.path), wafers, bound, recipes, db_url)
                       for lot_id, route in lots.items()}
            live = Live(progress(started), console=console, refresh_per_second=2) if progress else nullcontext()
            with live:
                while not all(f.done() for f in futures.values()):
                    time.sleep(0.5)
                    if progress and isinstance(live, Live):
                        live.update(progress(started))
            for lot_id, f in futures.items():
                try:
                    results[lot_id] = f.result()
                except Exception as exc:  # noqa: BLE001 - one lot's failure is reported, the others still are
                    results[lot_id] = {"lot_id": lot_id, "status": "FAILED", "reason": f"{type(exc).__name__}: {exc}"}
        return SimRun(results, simline.world.snapshot(), time.monotonic() - started, simline.clock.now())
    finally:
        simline.stop_thread()
