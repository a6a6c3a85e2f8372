"""Sputter physics (docs/process.md §1.1), as plain functions of time and settings — one source:
the simulator deposits and pre-cleans by it, and the paper model predicts the same films from it.

- Pump-down: `drivers.sputter.vacuum` (the kind's spec: the job-time model reads it too).
- DC magnetron deposition: rate ∝ power, per material (production 300 mm numbers: Ti 0.2–1 µm/min,
  Cu 0.5–2 µm/min at 5–20 kW).
- Ar pre-clean: removes SiO2-equivalent nanometres; Al2O3 sputters at about half that rate.
"""
from __future__ import annotations

# Deposition rate per kW of DC power, nm/min/kW, of a new target (est.; Ti 10 kW → 0.5 µm/min,
# Cu 10 kW → 1 µm/min).
RATE_NM_PER_MIN_PER_KW: dict[str, float] = {
    "Ti": 50.0, "TiW": 45.0, "Cr": 60.0, "Ta": 40.0, "TaN": 35.0,
    "Al": 95.0, "NiV": 55.0, "CuCr": 90.0, "Cu": 100.0, "Au": 120.0,
}
AL2O3_PRECLEAN_SELECTIVITY = 0.5   # Al2O3 removal per nm of SiO2-equivalent
MICRO_ARC_RATE_PER_KW_MIN = 0.01   # background micro-arc rate of a healthy target
TARGET_LIFE_KWH = 2000.0
# Drift (on with the line's `simulation.drift`): as the erosion groove deepens the target face
# recedes and the racetrack narrows, so the rate per kW falls — here linearly to 12 % less at rated
# life (est.; production tools ramp power with kWh to hide it, which is what R2R does here).
RATE_LOSS_AT_END_OF_LIFE = 0.12


def deposition_rate_nm_min(material: str, power_kw: float) -> float:
    return RATE_NM_PER_MIN_PER_KW[material] * power_kw


OXIDE_GONE_NM = 0.05              # a native oxide thinned below this no longer counts as a layer


def preclean_depth_nm(removal_sio2_nm: float) -> float:
    """How deep a pre-clean of `removal_sio2_nm` (SiO2-equivalent) reaches into the Al pad's oxide."""
    return removal_sio2_nm * AL2O3_PRECLEAN_SELECTIVITY


def oxide_removed_nm(removal_sio2_nm: float, oxide_nm: float) -> float:
    return min(oxide_nm, preclean_depth_nm(removal_sio2_nm))


def aged_rate_factor(target_kwh: float) -> float:
    """The rate per kW of a target that has delivered `target_kwh`, relative to a new one."""
    return 1.0 - RATE_LOSS_AT_END_OF_LIFE * min(1.0, max(0.0, target_kwh) / TARGET_LIFE_KWH)
