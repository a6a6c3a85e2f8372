"""Electroplating physics (docs/process.md §1.3).

Faraday: thickness µm = k · J(ASD) · CE · t(min), k = Cu 0.221, Ni 0.205, Au(I) 0.635, Sn(II) 0.506.
The cell is a reversible voltage plus series resistances (solution, contact ring, anode film); a
rectifier at constant current climbs in voltage as the anode passivates until it hits compliance,
where the current falls. Current needs a continuous metal seed in the field to reach the openings
from the contact ring; a thin seed's sheet resistance makes the centre plate thin (terminal effect).
"""
from __future__ import annotations

from dataclasses import dataclass

from drivers.plater.interface import BATH_EFFICIENCY, BATH_METAL, K_UM_PER_ASD_MIN

R_SOLUTION_OHM = 0.05
R_CONTACT_OHM = 0.02
R_CONTACT_FAILED_OHM = 1e5
COMPLIANCE_V = 10.0
PASSIVATION_OHM_PER_S = 0.02   # anode film growth when passivating (est.): compliance in ~6 min at 1.4 A


WAFER_NOISE_REL = 0.005       # wafer-to-wafer spread of the plated thickness (bath and contact variation, est.)
# Drift (on with the line's `simulation.drift`), per 100 A·h through the bath since its last
# replenish (additive breakdown products build up; in SnAg, Sn²⁺ oxidises to Sn⁴⁺): the cathode
# efficiency falls by this fraction of itself (est.).
CE_LOSS_PER_100AH = {"Cu-acid": 0.015, "Ni-sulfamate": 0.008, "Au-sulfite": 0.01, "Au-cyanide": 0.005, "SnAg-MSA": 0.03}
# …and per 100 A·h through the soluble anode since it was changed, the anode's eroded, filmed face
# spreads the field unevenly: centre-thin non-uniformity grows by this many % (est.).
NU_PCT_PER_100AH_ANODE = 1.0


@dataclass(frozen=True)
class Bath:
    metal: str        # what Faraday's k is for
    deposit: str      # the material that grows
    efficiency: float
    v_rev: float      # V


V_REV = {"Cu-acid": 0.3, "Ni-sulfamate": 1.5, "Au-sulfite": 0.8, "Au-cyanide": 0.8, "SnAg-MSA": 0.6}
BATHS = {name: Bath(*BATH_METAL[name], BATH_EFFICIENCY[name], V_REV[name]) for name in BATH_METAL}


def set_current_a(j_asd: float, area_cm2: float) -> float:
    """1 ASD = 1 A/dm² = 0.01 A/cm²."""
    return j_asd * area_cm2 / 100.0


def thickness_um(bath: str, charge_as: float, plated_area_cm2: float, efficiency: float | None = None) -> float:
    """Faraday over the area that actually plates: J·t in ASD·min is charge(A·min) / area(dm²)."""
    b = BATHS[bath]
    ce = b.efficiency if efficiency is None else efficiency
    return K_UM_PER_ASD_MIN[b.metal] * ce * (charge_as / 60.0) / (plated_area_cm2 / 100.0)


def rate_um_per_min(bath: str, j_asd: float) -> float:
    b = BATHS[bath]
    return K_UM_PER_ASD_MIN[b.metal] * j_asd * b.efficiency


def operating_point(bath: str, i_set: float, r_series: float) -> tuple[float, float, bool]:
    """(current, voltage, in compliance) of a constant-current rectifier driving the cell."""
    v_rev = BATHS[bath].v_rev
    v_needed = v_rev + i_set * r_series
    if v_needed <= COMPLIANCE_V:
        return i_set, v_needed, False
    return max(0.0, (COMPLIANCE_V - v_rev) / r_series), COMPLIANCE_V, True


def terminal_nonuniformity_pct(seed_sheet_ohm: float, current_a: float) -> float:
    """Centre-thin non-uniformity from the seed's sheet resistance: ~2 % on 300 nm Cu at 1.4 A,
    >10 % on a 50 nm seed (est., terminal effect [S36])."""
    return min(40.0, 100.0 * seed_sheet_ohm * current_a * 0.25)


def aged_efficiency(bath: str, bath_ah: float) -> float:
    """The cathode efficiency of a bath that has passed `bath_ah` since its replenish."""
    return BATHS[bath].efficiency * max(0.0, 1.0 - CE_LOSS_PER_100AH[bath] * max(0.0, bath_ah) / 100.0)


def anode_nonuniformity_pct(anode_ah: float) -> float:
    """The non-uniformity a worn anode adds (on top of the seed's terminal effect)."""
    return NU_PCT_PER_100AH_ANODE * max(0.0, anode_ah) / 100.0
