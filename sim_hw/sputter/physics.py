"""Sputter physics (reference/process.md §1.1), as plain functions of time and settings.

- Pump-down: rough pumping (exponential to the crossover pressure), then high vacuum towards the
  ultimate pressure P_ult = P0 + Q_leak / S (a leak raises the floor; above the base limit the
  chamber never gets there).
- DC magnetron deposition: rate ∝ power, per material (production 300 mm numbers: Ti 0.2–1 µm/min,
  Cu 0.5–2 µm/min at 5–20 kW).
- Ar pre-clean: removes SiO2-equivalent nanometres; Al2O3 sputters at about half that rate.
"""
from __future__ import annotations

import math

ATM_TORR = 760.0
CROSSOVER_TORR = 5e-2
ROUGH_TAU_S = 6.0          # roughing pump time constant (load lock)
HIGHVAC_TAU_S = 8.0        # turbo/cryo time constant
ULTIMATE_TORR = 2e-7       # clean chamber, no leak
PUMP_SPEED_L_S = 1000.0    # high-vacuum pumping speed

# Deposition rate per kW of DC power, nm/min/kW (est.; Ti 10 kW → 0.5 µm/min, Cu 10 kW → 1 µm/min).
RATE_NM_PER_MIN_PER_KW = {
    "Ti": 50.0, "TiW": 45.0, "Cr": 60.0, "Ta": 40.0, "TaN": 35.0,
    "Al": 95.0, "NiV": 55.0, "CuCr": 90.0, "Cu": 100.0, "Au": 120.0,
}
AL2O3_PRECLEAN_SELECTIVITY = 0.5   # Al2O3 removal per nm of SiO2-equivalent
MICRO_ARC_RATE_PER_KW_MIN = 0.01   # background micro-arc rate of a healthy target
TARGET_LIFE_KWH = 2000.0


def ultimate_pressure(leak_torr_l_s: float = 0.0) -> float:
    return ULTIMATE_TORR + leak_torr_l_s / PUMP_SPEED_L_S


def rough_time_s() -> float:
    return ROUGH_TAU_S * math.log(ATM_TORR / CROSSOVER_TORR)


def pumpdown_pressure(t_s: float, leak_torr_l_s: float = 0.0) -> float:
    """Chamber pressure t seconds after pumping starts from atmosphere."""
    p_ult = ultimate_pressure(leak_torr_l_s)
    t_x = rough_time_s()
    if t_s < t_x:
        return max(ATM_TORR * math.exp(-t_s / ROUGH_TAU_S), CROSSOVER_TORR)
    return p_ult + (CROSSOVER_TORR - p_ult) * math.exp(-(t_s - t_x) / HIGHVAC_TAU_S)


def time_to_pressure(target_torr: float, leak_torr_l_s: float = 0.0) -> float | None:
    """Seconds from atmosphere to `target_torr`, or None if the floor is above it (a leak)."""
    p_ult = ultimate_pressure(leak_torr_l_s)
    if target_torr <= p_ult:
        return None
    if target_torr >= CROSSOVER_TORR:
        return ROUGH_TAU_S * math.log(ATM_TORR / target_torr)
    return rough_time_s() + HIGHVAC_TAU_S * math.log((CROSSOVER_TORR - p_ult) / (target_torr - p_ult))


def deposition_rate_nm_min(material: str, power_kw: float) -> float:
    return RATE_NM_PER_MIN_PER_KW[material] * power_kw


def oxide_removed_nm(removal_sio2_nm: float, oxide_nm: float) -> float:
    return min(oxide_nm, removal_sio2_nm * AL2O3_PRECLEAN_SELECTIVITY)
