"""The litho track, declared once: coat, soft bake, expose, develop — resists, PSPI, sacrificial film."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.litho import interface
from drivers.litho.recipe import LithoRecipe
from drivers.spec import AlarmSpec, KindSpec, MeasurementSpec, fault


@dataclass(frozen=True)
class LithoFacts:
    handling_s: float = 15.0          # cassette to chuck, per wafer
    spin_settle_s: float = 10.0       # dispense and ramp around the spin time
    align_s: float = 20.0
    rinse_s: float = 30.0
    nominal_lamp_mw_cm2: float = interface.NOMINAL_LAMP_MW_CM2


FACTS = LithoFacts()


def job_time_s(body: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    per_wafer = (FACTS.handling_s + body["spin_s"] + FACTS.spin_settle_s + body["soft_bake_s"] + FACTS.align_s
                 + body["dose_mj_cm2"] / FACTS.nominal_lamp_mw_cm2 + body["develop_s"] + FACTS.rinse_s)
    return n * per_wafer


SPEC = KindSpec(
    kind=interface.KIND, doc=__doc__ or "", phases=interface.PHASES, recipe_model=LithoRecipe, limits=interface.LIMITS,
    alarms=(AlarmSpec(4001, "RESIST_LOW", "resist dispense bottle empty"),),
    measurements=(MeasurementSpec("resist.thickness", "µm", "coated film thickness", "thickness_um", "target_um",
                                  recipe_targets=lambda body, name: [float(body["thickness_um"])]),
                  MeasurementSpec("dose", "mJ/cm²", "delivered exposure dose", "dose_mj_cm2", "dose_set_mj_cm2",
                                  recipe_targets=lambda body, name: [float(body["dose_mj_cm2"])])),
    faults=(fault("resist_low", "dispense bottle runs dry: RESIST_LOW before the next coat"),
            fault("lamp_low", "lamp intensity falls to `factor` of nominal: openings under-exposed",
                  factor=(float, 0.5, "of nominal intensity"))),
    job_time_s=job_time_s, wires={"scpi": interface.INTERFACE}, facts=FACTS, readings=("lamp_mw_cm2", "resist_pct"),
)
