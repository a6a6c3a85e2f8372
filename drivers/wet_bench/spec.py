"""The wet bench, declared once: a batch in a heated bath (etch, strip, release), rinse, dry."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drivers.spec import AlarmSpec, KindSpec, MeasurementSpec, fault
from drivers.wet_bench import interface
from drivers.wet_bench.chemistry import CHEMISTRY, Chemistry
from drivers.wet_bench.recipe import WetBenchRecipe


@dataclass(frozen=True)
class WetBenchFacts:
    load_s: float = 60.0
    dry_s: dict[str, float] = field(default_factory=lambda: {"spin_dry": 180.0, "ipa_dry": 420.0,
                                                             "supercritical_co2": 2400.0})
    excursion_detect_s: float = 60.0
    ambient_c: float = 22.0
    temperature_band_c: float = interface.TEMPERATURE_BAND_C
    chemistry: dict[str, Chemistry] = field(default_factory=lambda: dict(CHEMISTRY))
    """etch rates per material and what each bath is meant to remove (the linter's and the simulator's)"""


FACTS = WetBenchFacts()


def job_time_s(body: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    return FACTS.load_s + body["time_s"] + body["rinse_s"] + FACTS.dry_s[body["dry"]]


def guard_entries_s(body: dict[str, Any], n: int, options: dict[str, Any]) -> list[float]:
    """The cassette enters the etch bath once, after loading."""
    return [FACTS.load_s]


SPEC = KindSpec(
    kind=interface.KIND, doc=__doc__ or "", phases=interface.PHASES, guarded_phases=("ETCH",), batch=True,
    guard_entries_s=guard_entries_s,
    recipe_model=WetBenchRecipe, limits=interface.LIMITS,
    alarms=(AlarmSpec(6001, "TEMP_EXCURSION", f"bath temperature more than {FACTS.temperature_band_c:g} °C off setpoint"),),
    measurements=(MeasurementSpec("etch.removed", "nm", "film removed", "removed_nm"),
                  MeasurementSpec("etch.undercut", "µm", "lateral undercut", "undercut_um"),
                  MeasurementSpec("release.front", "µm", "release etch front under a suspended part", "release_um"),
                  MeasurementSpec("release.stiction", "count", "released parts stuck on drying", "stiction")),
    faults=(fault("temp_excursion", "bath heater runs away by `c` °C at `c_per_s`: TEMP_EXCURSION",
                  c=(float, 15.0, "°C above setpoint"), c_per_s=(float, 0.25, "°C/s")),
            fault("exhausted_bath", "bath activity falls to `activity`: under-etch, residual film",
                  activity=(float, 0.3, "of a fresh bath")),
            fault("over_etch", "the bath timer runs `factor` times too long: over-etch and undercut",
                  factor=(float, 2.0, "× the recipe time")),
            fault("stiction", "released parts stick on drying, even after a supercritical dry"),
            fault("heater_failure", f"the bath stays at ambient ({FACTS.ambient_c:g} °C): the tool refuses to load "
                                    "(TEMP_EXCURSION)"),
            fault("interlock_defeat", "the tool loads wafers into an off-temperature bath (tests the host interlock)")),
    job_time_s=job_time_s, wires={"modbus": interface.INTERFACE}, facts=FACTS,
    readings=interface.INTERFACE.readbacks,
    healthy_readings=lambda body: {"bath_temp_c": body["temperature_c"]},
)
