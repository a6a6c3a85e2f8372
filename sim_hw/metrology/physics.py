"""What the metrology tool sees: the world model's layers at N sites, with a radial profile and
instrument noise. Sites sit on concentric rings (centre first) of a 300 mm wafer."""
from __future__ import annotations

import math
import random

from drivers.effects import WAFER_RADIUS_MM

EDGE_EXCLUSION_MM = 5.0


def site_radii(n: int) -> list[float]:
    """Normalised radius r/R of n sites: the centre, then rings at even radius steps."""
    if n == 1:
        return [0.0]
    rings = max(1, round(math.sqrt(n / 3)))
    r_max = 1 - EDGE_EXCLUSION_MM / WAFER_RADIUS_MM
    out = [0.0]
    per_ring = (n - 1) / rings
    for k in range(rings):
        count = round(per_ring * (k + 1)) - round(per_ring * k)
        out += [r_max * (k + 1) / rings] * count
    return out[:n]


def site_positions(n: int) -> list[tuple[float, float]]:
    """(x, y) in mm from the wafer's centre of n sites, notch down: the centre, then each ring's sites
    evenly spaced in angle (alternate rings turned half a step, so no spoke of sites lines up)."""
    radii = site_radii(n)
    out: list[tuple[float, float]] = []
    for ring, r in enumerate(dict.fromkeys(radii)):   # each ring once, centre first
        count = radii.count(r)
        turn = 0.5 if ring % 2 == 0 else 0.0
        for j in range(count):
            a = 2 * math.pi * (j + turn) / count + math.pi / 2
            out.append((round(r * WAFER_RADIUS_MM * math.cos(a), 2), round(r * WAFER_RADIUS_MM * math.sin(a), 2)))
    return out


def radial(mean: float, nonuniformity_pct: float, r: float) -> float:
    """Centre-thin profile with the given mean: t(r) = mean·(1 − ν/100·(½ − r²))."""
    return mean * (1 - nonuniformity_pct / 100 * (0.5 - r * r))


def measure(values_at: list[float], rng: random.Random, noise_rel: float, noise_abs: float,
            bias_rel: float = 0.0) -> list[float]:
    return [v * (1 + bias_rel) * (1 + rng.gauss(0, noise_rel)) + rng.gauss(0, noise_abs) for v in values_at]
