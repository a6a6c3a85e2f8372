"""Wet etch of a simulated wafer: the shared etch model (drivers/wet_bench/etching.py) run on the
world model's stacks, so the simulator and the route linter's paper wafer etch the same way."""
from __future__ import annotations

from drivers.wet_bench.etching import EtchReport, etch_regions, rate_nm_min
from sim_hw.world import Wafer

__all__ = ["EtchReport", "etch_wafer", "rate_nm_min"]


def etch_wafer(wafer: Wafer, chemistry: str, t_eff_s: float, activity: float = 1.0) -> EtchReport:
    """Apply t_eff seconds (at the reference temperature) of a chemistry to every region."""
    return etch_regions(wafer.regions, wafer.area_cm2, chemistry, t_eff_s, activity)
