"""Litho physics (docs/process.md §1.2), one source: the simulator coats, exposes and develops by
it, and the paper model predicts the same film and the same opening from it.

- spin coat: t = k / sqrt(rpm), k per resist (calibrated on the table's thickness/speed pairs)
- exposure: delivered dose = lamp intensity × exposure time (time set from the recipe dose at the
  nominal intensity); an opening clears when the dose reaches the resist's clearing dose per µm
- develop: an opening also needs enough develop time for the full thickness
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from drivers.materials import RESIST_T_LIMIT_C


@dataclass(frozen=True)
class Resist:
    k_um_sqrt_rpm: float      # thickness × sqrt(rpm)
    clear_mj_cm2_per_um: float
    develop_um_per_min: float
    t_limit_c: float          # above this the resist reflows / cross-links (§6.1)
    tone: str


RESISTS = {
    "AZ1500": Resist(94.9, 60.0, 3.0, RESIST_T_LIMIT_C["AZ1500"], "positive"),      # 1.5 µm @ 4000 rpm, 90 mJ/cm²
    "AZ4620": Resist(348.6, 65.0, 5.0, RESIST_T_LIMIT_C["AZ4620"], "positive"),     # 9 µm @ 1500 rpm, ~600 mJ/cm²
    "AZ12XT": Resist(632.5, 15.0, 8.0, RESIST_T_LIMIT_C["AZ12XT"], "positive"),     # 20 µm @ 1000 rpm, 300 mJ/cm²
    "THICK-NEG": Resist(1897.0, 20.0, 20.0, RESIST_T_LIMIT_C["THICK-NEG"], "negative"),  # 60 µm @ 1000 rpm
    "PSPI": Resist(447.2, 40.0, 5.0, 450.0, "negative"),          # 10 µm @ 2000 rpm; cured later, not a mask
    "SAC-POLY": Resist(223.6, 30.0, 5.0, 300.0, "negative"),      # 5 µm @ 2000 rpm; decomposes > 300 °C
}


COATED_AS = {"PSPI": ("PI", "passivation"), "SAC-POLY": ("polymer", "sacrificial")}   # else (resist name, resist)


def spin_thickness_um(resist: str, rpm: float) -> float:
    return RESISTS[resist].k_um_sqrt_rpm / math.sqrt(rpm)


def dose_to_clear(resist: str, thickness_um: float) -> float:
    """mJ/cm² that clears the film's whole depth."""
    return RESISTS[resist].clear_mj_cm2_per_um * thickness_um


def develop_to_clear_s(resist: str, thickness_um: float) -> float:
    """Seconds of develop that clear the film's whole depth."""
    return thickness_um / RESISTS[resist].develop_um_per_min * 60.0


def cleared_fraction(resist: str, thickness_um: float, dose_mj_cm2: float, develop_s: float) -> float:
    """How much of the resist depth an opening clears (1.0 = fully open to the layer below)."""
    by_dose = dose_mj_cm2 / dose_to_clear(resist, thickness_um)
    by_develop = develop_s / develop_to_clear_s(resist, thickness_um)
    return max(0.0, min(1.0, by_dose, by_develop))
