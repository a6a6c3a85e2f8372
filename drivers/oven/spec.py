"""The oven, declared once: a batch through a ramp/hold profile under N2 (cure, reflow), then cool."""
from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from typing import Any

from drivers.oven import interface, thermal
from drivers.oven.recipe import OvenRecipe
from drivers.spec import AlarmSpec, KindSpec, MeasurementSpec, fault


@dataclass(frozen=True)
class Cure:
    """A polymer is cured after `min_s` above `threshold_c` (within 10 °C of its nominal cure)."""
    threshold_c: float
    min_s: float
    nominal_c: float


@dataclass(frozen=True)
class OvenFacts:
    pi_cures: tuple[Cure, ...] = (Cure(340.0, 30 * 60.0, 350.0), Cure(225.0, 60 * 60.0, 230.0))
    paste_cure: Cure = Cure(120.0, 30 * 60.0, 125.0)
    dewet_o2_ppm: float = 1500.0        # above this while molten: dewetting / voids
    pi_cure_shrink: float = 0.75        # cured PI keeps 3/4 of its coated thickness (imidisation, docs/process.md §1.5)
    purge_timeout_s: float = 1800.0
    o2_floor_ppm: float = thermal.O2_FLOOR_PPM

    def pi_cure(self, time_above: dict[float, float]) -> Cure | None:
        """The PI cure a thermal history reached ({threshold °C: seconds above it}), if any."""
        return next((c for c in self.pi_cures if time_above.get(c.threshold_c, 0.0) >= c.min_s), None)

    def thresholds(self) -> tuple[float, ...]:
        """The temperatures whose time-above decides a cure (a thermal history counts each)."""
        return (self.paste_cure.threshold_c, *(c.threshold_c for c in self.pi_cures))

    def paste_cured(self, time_above: dict[float, float]) -> bool:
        return time_above.get(self.paste_cure.threshold_c, 0.0) >= self.paste_cure.min_s

    def pi_cured_by_hold(self, peak_c: float, hold_s: float) -> bool:
        """On paper: a hold of `hold_s` at `peak_c` cures PI."""
        return any(peak_c >= c.threshold_c and hold_s >= c.min_s for c in self.pi_cures)

    def paste_cured_by_hold(self, peak_c: float, hold_s: float) -> bool:
        return peak_c >= self.paste_cure.threshold_c and hold_s >= self.paste_cure.min_s


FACTS = OvenFacts()


def job_time_s(body: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    """The purge to the O2 limit, then the profile run through the oven's thermal model to the end of
    cool-down, on the simulator's 1-second step."""
    return _purge_s(body) + nominal_history(body)["duration_s"]


def guard_entries_s(body: dict[str, Any], n: int, options: dict[str, Any]) -> list[float]:
    """HEAT is entered once, when the purge has brought O2 to the limit (at once without a purge)."""
    return [_purge_s(body)]


def _purge_s(body: dict[str, Any]) -> float:
    if not body["n2_purge"]:
        return 0.0
    return math.ceil(thermal.purge_time_s(body["o2_limit_ppm"], body["n2_flow_slm"]) or 0.0)


def nominal_history(body: dict[str, Any]) -> dict[str, Any]:
    """The profile run through the thermal model on the simulator's 1-second step, as a healthy oven
    runs it: peak wafer temperature, time above each cure threshold, duration. The job-time model,
    the paper model (model.py) and the simulator integrate the same way, so they cannot disagree.

    Remembered per profile: the integration is thousands of model steps, and the host asks it for
    every job it paces, every zone it gates and every plan's bottleneck (~9 % of a 20-lot
    orchestrator's CPU went here). A dict rather than `lru_cache`: the body is an unhashable dict."""
    key = json.dumps([body["segments"], body["cool_c_per_min"], body["liquidus_c"]], sort_keys=True, default=repr)
    with _histories_lock:
        known = _histories.get(key)
    if known is None:
        known = _integrate(body)
        with _histories_lock:
            if len(_histories) >= _HISTORIES_KEPT:
                _histories.clear()
            _histories[key] = known
    return {**known, "above": dict(known["above"])}      # a copy: the caller may change it


_histories: dict[str, dict[str, Any]] = {}
_histories_lock = threading.Lock()
_HISTORIES_KEPT = 512


def _integrate(body: dict[str, Any]) -> dict[str, Any]:
    model = thermal.OvenModel(body["segments"], body["cool_c_per_min"], body["liquidus_c"])
    above = dict.fromkeys(FACTS.thresholds(), 0.0)
    steps = 0
    while True:
        steps += 1
        done = model.step(1.0)
        for t in above:
            if model.wafer >= t:
                above[t] += 1.0
        if done:
            return {"peak_c": model.peak, "above": above, "duration_s": steps, "tal_s": model.tal_s}


SPEC = KindSpec(
    kind=interface.KIND, doc=__doc__ or "", phases=interface.PHASES, guarded_phases=("HEAT",), batch=True,
    guard_entries_s=guard_entries_s,
    recipe_model=OvenRecipe, limits=interface.LIMITS,
    alarms=(AlarmSpec(3001, "O2_HIGH", "O2 above the recipe limit (N2 supply?)"),
            AlarmSpec(3002, "ZONE_DEVIATION", f"oven temperature deviates more than {thermal.DEVIATION_C:g} °C "
                                              "from the profile")),
    measurements=(MeasurementSpec("peak", "°C", "peak wafer temperature", "peak_c"),
                  MeasurementSpec("tal", "s", "time above liquidus", "tal_s"),
                  MeasurementSpec("o2_max_hot", "ppm", "highest O2 while above liquidus", "o2_max_hot_ppm"),
                  MeasurementSpec("time_above_230", "s", "time above 230 °C", "time_above_230_s")),
    faults=(fault("o2_high", "N2 supply lost: O2 floor `ppm`, from the moment the wafers pass `above_c` "
                             "(default: at once) — O2_HIGH alarm; molten solder dewets",
                  ppm=(float, 3000.0, "ppm"), above_c=(float, -273.0, "°C")),
            fault("overshoot", "zone controller overshoots holds by `c` °C: ZONE_DEVIATION", c=(float, 40.0, "°C")),
            fault("heater_failure", "heaters deliver at most `c_per_min`: cannot follow the ramp",
                  c_per_min=(float, 3.0, "°C/min")),
            fault("interlock_defeat", "the tool heats without waiting for the purge (tests the host-side O2 interlock)")),
    job_time_s=job_time_s, wires={"modbus": interface.INTERFACE, "scpi": interface.SCPI_INTERFACE}, facts=FACTS,
    readings=interface.INTERFACE.readbacks,
    healthy_readings=lambda body: {"o2_ppm": min(FACTS.o2_floor_ppm, body["o2_limit_ppm"])},
)
