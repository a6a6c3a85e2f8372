"""The sputter's vacuum: the pump-down curve of its load lock and chamber. Part of the kind's spec
because both the nominal job-time model (how long a pump-down takes) and the simulator read it.

Rough pumping is exponential to the crossover pressure, then high vacuum falls towards the ultimate
pressure P_ult = P0 + Q_leak / S (a leak raises the floor; above the base limit the chamber never
gets there).
"""
from __future__ import annotations

import math

ATM_TORR = 760.0
CROSSOVER_TORR = 5e-2
ROUGH_TAU_S = 6.0          # roughing pump time constant (load lock)
HIGHVAC_TAU_S = 8.0        # turbo/cryo time constant
ULTIMATE_TORR = 2e-7       # clean chamber, no leak
PUMP_SPEED_L_S = 1000.0    # high-vacuum pumping speed


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
