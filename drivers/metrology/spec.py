"""Metrology, declared once: film thickness, bump height, paste volume or resist residue at N sites."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.metrology import interface
from drivers.metrology.recipe import MetrologyRecipe
from drivers.spec import AlarmSpec, KindSpec, MeasurementSpec, fault


@dataclass(frozen=True)
class MetrologyFacts:
    align_s: float = 20.0
    per_site_s: float = 3.0


FACTS = MetrologyFacts()


def job_time_s(body: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    return n * (FACTS.align_s + FACTS.per_site_s * body["sites"])


SPEC = KindSpec(
    kind=interface.KIND, doc=__doc__ or "", phases=interface.PHASES, recipe_model=MetrologyRecipe,
    limits=interface.LIMITS,
    alarms=(AlarmSpec(5001, "PATTERN_RECOGNITION_FAILED", "the aligner found no alignment mark"),),
    # The recipe names what it measures (e.g. bump.height): each name reports these four statistics.
    measurements=(MeasurementSpec("*.mean", "", "mean over the sites (unit as measured)"),
                  MeasurementSpec("*.min", "", "lowest site"), MeasurementSpec("*.max", "", "highest site"),
                  MeasurementSpec("*.nonuniformity", "%", "(max − min) / (2 · mean)")),
    faults=(fault("calibration_drift", "every reading is biased by `pct` percent", pct=(float, 3.0, "%")),
            fault("pattern_recognition", "the aligner cannot find the pattern on wafer `slot`: alarm",
                  slot=(int, None, "default: the next wafer"))),
    job_time_s=job_time_s, wires={"scpi": interface.INTERFACE}, facts=FACTS,
)
