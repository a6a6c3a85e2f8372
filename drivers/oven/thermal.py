"""Oven thermal physics on a 1-second step, part of the oven's spec: the simulator runs it, and the
nominal job-time model runs the same profile through it (so a job's length is declared once).

A programmed setpoint, an oven that follows it within its
heater's power, a wafer load that lags the oven, and an N2 purge that displaces air.

- oven:  dT/dt = (T_set − T)/τ_oven, heating limited to `max_heat_c_per_min`
- wafer: first-order lag behind the oven (τ_wafer)
- deviation: the oven against a healthy oven's response to the same profile (a reference model),
           so a normal ramp lag is no alarm but an overshoot or a weak heater is
- O2:    exponential purge from air toward a floor set by leaks (τ = chamber volume / N2 flow)
- time above liquidus (TAL), time above 230 °C (PI cure), peak: integrated on the wafer temperature
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

AIR_O2_PPM = 209_000.0
CHAMBER_L = 60.0
TAU_OVEN_S = 20.0
TAU_WAFER_S = 45.0
O2_FLOOR_PPM = 20.0
DEVIATION_C = 15.0
DEVIATION_GRACE_S = 30.0
HEALTHY_HEAT_C_PER_MIN = 120.0
COOL_END_C = 60.0


@dataclass
class OvenModel:
    segments: list[dict]
    cool_c_per_min: float
    liquidus_c: float
    start_c: float = 25.0
    max_heat_c_per_min: float = 120.0
    overshoot_c: float = 0.0
    setpoint: float = field(init=False)
    oven: float = field(init=False)
    reference: float = field(init=False)
    wafer: float = field(init=False)
    segment: int = 0
    holding_s: float = 0.0
    cooling: bool = False
    t: float = 0.0
    peak: float = field(init=False)
    tal_s: float = 0.0
    above_230_s: float = 0.0
    deviation_s: float = 0.0

    def __post_init__(self) -> None:
        self.setpoint = self.oven = self.reference = self.wafer = self.peak = self.start_c

    def step(self, dt: float) -> bool:
        """Advance dt seconds; True when the cool-down is finished."""
        self.t += dt
        self._advance_setpoint(dt)
        target = self.setpoint + (self.overshoot_c if not self.cooling and self._holding() else 0.0)
        self.oven = _follow(self.oven, target, dt, self.max_heat_c_per_min)
        self.reference = _follow(self.reference, self.setpoint, dt, HEALTHY_HEAT_C_PER_MIN)
        self.wafer += (self.oven - self.wafer) * (1 - math.exp(-dt / TAU_WAFER_S))
        self.peak = max(self.peak, self.wafer)
        if self.wafer >= self.liquidus_c:
            self.tal_s += dt
        if self.wafer >= 230.0:
            self.above_230_s += dt
        deviating = abs(self.oven - self.reference) > DEVIATION_C and not self.cooling
        self.deviation_s = self.deviation_s + dt if deviating else 0.0
        return self.cooling and self.wafer <= COOL_END_C

    @property
    def deviating(self) -> bool:
        return self.deviation_s > DEVIATION_GRACE_S

    def _holding(self) -> bool:
        return self.segment < len(self.segments) and self.setpoint == self.segments[self.segment]["target_c"]

    def _advance_setpoint(self, dt: float) -> None:
        if self.cooling:
            self.setpoint = max(self.start_c, self.setpoint - self.cool_c_per_min / 60 * dt)
            return
        seg = self.segments[self.segment]
        target = seg["target_c"]
        if self.setpoint != target:
            step = seg["ramp_c_per_min"] / 60 * dt
            self.setpoint = min(target, self.setpoint + step) if target > self.setpoint else max(target, self.setpoint - step)
            return
        self.holding_s += dt
        if self.holding_s >= seg["hold_s"]:
            self.segment += 1
            self.holding_s = 0.0
            if self.segment >= len(self.segments):
                self.cooling = True
                self.segment = len(self.segments) - 1


def _follow(temp: float, target: float, dt: float, max_heat_c_per_min: float) -> float:
    change = (target - temp) * (1 - math.exp(-dt / TAU_OVEN_S))
    return temp + min(change, max_heat_c_per_min / 60 * dt)


def purge_o2_ppm(t_s: float, n2_flow_slm: float, floor_ppm: float = O2_FLOOR_PPM) -> float:
    """O2 after purging air for t seconds at the given N2 flow."""
    if n2_flow_slm <= 0:
        return AIR_O2_PPM
    tau = CHAMBER_L / n2_flow_slm * 60.0
    return floor_ppm + (AIR_O2_PPM - floor_ppm) * math.exp(-t_s / tau)


O2_RESOLUTION_PPM = 0.1   # the O2 analyser's reading resolution


def o2_reading(ppm: float) -> float:
    """The O2 value as the oven reports it (to its analyser's resolution): the tool ends its purge on
    this reading and the host's interlock judges this reading, so the two never disagree."""
    return round(ppm, 1)


def purge_target_ppm(limit_ppm: float) -> float:
    """The true O2 below which the reading is at most the limit (a limit finer than the resolution
    is met only when the reading, rounded, is)."""
    return math.floor(limit_ppm / O2_RESOLUTION_PPM + 1e-9) * O2_RESOLUTION_PPM + O2_RESOLUTION_PPM / 2


def purge_time_s(limit_ppm: float, n2_flow_slm: float, floor_ppm: float = O2_FLOOR_PPM) -> float | None:
    """Seconds of purge from air until the reading is at most the limit; None if it never is."""
    target = min(purge_target_ppm(limit_ppm), AIR_O2_PPM)
    if n2_flow_slm <= 0 or target <= floor_ppm:
        return None
    tau = CHAMBER_L / n2_flow_slm * 60.0
    return tau * math.log((AIR_O2_PPM - floor_ppm) / (target - floor_ppm))
