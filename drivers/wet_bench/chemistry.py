"""Wet chemistries as data (docs/process.md §1.6): nominal rates per material at a reference
temperature, what each bath is meant to remove, one activation energy for temperature. The route
linter checks every exposed material against these; the simulator etches with them."""
from __future__ import annotations

import math
from dataclasses import dataclass

from drivers.materials import RESISTS

EA_EV = 0.35
K_B_EV = 8.617e-5


@dataclass(frozen=True)
class Chemistry:
    t_ref_c: float
    nm_per_min: dict[str, float]
    removes: frozenset[str]   # what the bath is for; anything else it attacks is collateral


RESIST_STRIP = {r: 2000.0 for r in RESISTS} | {"THICK-NEG": 1500.0}

CHEMISTRY = {
    "cu_etch": Chemistry(25.0, {"Cu": 300.0, "CuCr": 200.0, "NiV": 30.0, "Ni": 5.0, "Al": 20.0},
                         frozenset({"Cu", "CuCr"})),
    "cr7": Chemistry(20.0, {"Cu": 270.0, "Cr": 100.0, "Ti": 1.8, "TiW": 0.6, "Ni": 1.8},      # 45 Å/s Cu [S23]
                     frozenset({"Cu", "Cr"})),
    "tiw_etch": Chemistry(50.0, {"TiW": 60.0, "Ti": 40.0}, frozenset({"TiW", "Ti"})),       # spares Cu, solder [S21]
    "dhf": Chemistry(25.0, {"Ti": 500.0, "TiW": 5.0, "SiO2": 5.0, "Al": 100.0, "Al2O3": 10.0}, frozenset({"Ti"})),
    "boe": Chemistry(25.0, {"SiO2": 120.0, "Ti": 100.0, "TiW": 10.0, "Al": 60.0, "Al2O3": 5.0, "SiN": 1.0},
                     frozenset({"SiO2"})),                                                   # ≈2 nm/s [S25]
    "pan": Chemistry(50.0, {"Al": 540.0, "Cu": 2880.0, "Ni": 10.0}, frozenset({"Al"})),     # 90 / 480 Å/s [S23]
    "nmp_strip": Chemistry(70.0, {**RESIST_STRIP, "polymer": 1000.0, "epoxy": 200.0, "PI": 500.0},
                           frozenset(RESIST_STRIP) | {"polymer", "epoxy"}),
}


def arrhenius(temp_c: float, t_ref_c: float) -> float:
    """Rate multiplier at temp_c relative to t_ref_c."""
    return math.exp(-EA_EV / K_B_EV * (1 / (temp_c + 273.15) - 1 / (t_ref_c + 273.15)))


def nominal_rate(chemistry: str, material: str, props: dict | None = None) -> float:
    """nm/min at the reference temperature; cured polyimide survives the stripper."""
    if material == "PI" and (props or {}).get("cured"):
        return 0.0
    return CHEMISTRY[chemistry].nm_per_min.get(material, 0.0)
