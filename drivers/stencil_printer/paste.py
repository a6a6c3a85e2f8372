"""Paste transfer (docs/process.md §1.4), one source: the simulator prints by it and the paper model
predicts the same paste volume from it (a clean stencil, nominal fill).

Transfer efficiency (paste released / aperture volume) rises steeply with the area ratio
AR = d / 4t around 0.55–0.66; too little squeegee pressure leaves apertures unfilled, too much
scoops them; fast prints and fast separation lose volume. The three-ball rule: the aperture must
hold at least three of the largest particles across, or paste clogs it. Flood-filling resist
through-holes (the resist is the stencil) depends only on fill, not on release.
"""
from __future__ import annotations

import math

from drivers.stencil_printer.interface import MAX_PARTICLE_UM


def area_ratio(aperture_um: float, thickness_um: float) -> float:
    return aperture_um / (4.0 * thickness_um)


def release(ar: float) -> float:
    """Fraction of the filled aperture that leaves with the wafer."""
    return 0.95 / (1.0 + math.exp(-(ar - 0.55) / 0.05))


FULL_FILL_N_MM = 0.2            # squeegee pressure that fills a clean aperture
# Drift (on with the line's `simulation.drift`): paste loads the aperture walls print after print;
# the automatic dry wipe (the recipe's `wipe_every`) keeps the underside clean but does not unload
# them — a stencil wipe (solvent and vacuum, the `stencil-wipe` maintenance action) does. A loaded
# aperture needs more pressure to fill: +0.4 % per print since that wipe (est.), so at 0.3 N/mm
# the volume starts to fall after ~125 prints and the squeegee pressure can win it back.
LOADING_PER_PRINT = 0.004


def full_fill_pressure(prints_since_clean: int = 0) -> float:
    return FULL_FILL_N_MM * (1.0 + LOADING_PER_PRINT * max(0, prints_since_clean))


def fill(pressure_n_mm: float, speed_mm_s: float, prints_since_clean: int = 0) -> float:
    f = min(1.0, math.sqrt(pressure_n_mm / full_fill_pressure(prints_since_clean)))
    if pressure_n_mm > 0.45:
        f *= 1.0 - 1.5 * (pressure_n_mm - 0.45)        # scooping
    if speed_mm_s > 50:
        f *= 1.0 - 0.004 * (speed_mm_s - 50)            # hang-up above 50 mm/s
    return max(0.0, f)


def separation(sep_speed_mm_s: float) -> float:
    return 1.0 - 0.05 * max(0.0, sep_speed_mm_s - 2.0)  # peaking / dog-ears


def three_ball_ok(paste: str, aperture_um: float) -> bool:
    return aperture_um >= 3.0 * MAX_PARTICLE_UM[paste]


def transfer(paste: str, mode: str, aperture_um: float, thickness_um: float, pressure: float, speed: float,
             sep_speed: float, prints_since_clean: int = 0) -> float:
    """Volume fraction of the aperture (or hole) that ends up as paste on the wafer."""
    f = fill(pressure, speed, prints_since_clean) * (1.0 if three_ball_ok(paste, aperture_um) else 0.5)
    if mode == "fill_holes":
        return f * 0.98
    return f * release(area_ratio(aperture_um, thickness_um)) * separation(sep_speed)
