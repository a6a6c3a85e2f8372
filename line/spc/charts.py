"""Control charts: Phase-I limits from a baseline of lots, and where each new lot falls on them.

- **I-MR** (`imr`): one point per lot, its mean over the wafers; σ from the average moving range
  (MR̄ / d2(2)); the MR chart's upper limit D4(2)·MR̄.
- **X̄-R** (`xbar_r`) and **X̄-S** (`xbar_s`): the lot's wafers are the subgroup; σ within a lot from
  the average of Rᵢ / d2(nᵢ) (or sᵢ / c4(nᵢ)), so lots of different sizes pool correctly, and each
  point's limits follow its own n (centre ± 3σ/√n; R: D3/D4 · d2(n)σ; S: B3/B4 · c4(n)σ).

A point beyond its dispersion chart's limits signals as rule 1 of that chart."""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from line.spc.constants import constants
from line.spc.rules import ALL, Signal, signals_at

Chart = Literal["imr", "xbar_r", "xbar_s"]
CHARTS: tuple[Chart, ...] = ("imr", "xbar_r", "xbar_s")
DISPERSION = {"imr": "MR", "xbar_r": "R", "xbar_s": "S"}


class BaselineError(ValueError):
    """The baseline cannot give limits (too few lots, one-wafer lots on an X̄ chart, no spread)."""


@dataclass(frozen=True)
class Subgroup:
    """One lot at one step: its label and its wafers' values."""
    label: str
    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def range(self) -> float:
        return max(self.values) - min(self.values)

    @property
    def stdev(self) -> float:
        return statistics.stdev(self.values)


@dataclass(frozen=True)
class Limits:
    center: float
    lcl: float
    ucl: float


@dataclass(frozen=True)
class Baseline:
    """What an engineer freezes: the chart, its centre, σ (of a lot mean for I-MR, of a wafer within
    a lot for X̄ charts) and the dispersion centre (MR̄, or σ for R and S)."""
    chart: Chart
    center: float
    sigma: float
    lots: int

    def location(self, n: int) -> Limits:
        s = self.sigma if self.chart == "imr" else self.sigma / math.sqrt(n)
        return Limits(self.center, self.center - 3 * s, self.center + 3 * s)

    def dispersion(self, n: int) -> Limits:
        if self.chart == "imr":
            c = constants(2)
            mr = c.d2 * self.sigma
            return Limits(mr, 0.0, c.D4 * mr)
        c = constants(n)
        if self.chart == "xbar_r":
            return Limits(c.d2 * self.sigma, c.D3 * c.d2 * self.sigma, c.D4 * c.d2 * self.sigma)
        return Limits(c.c4 * self.sigma, c.B3 * c.c4 * self.sigma, c.B4 * c.c4 * self.sigma)


def _need(chart: Chart, groups: Sequence[Subgroup]) -> None:
    if chart not in CHARTS:
        raise BaselineError(f"no chart {chart!r} (charts: {', '.join(CHARTS)})")
    if len(groups) < 2:
        raise BaselineError(f"a baseline needs at least 2 lots, not {len(groups)}")
    if chart != "imr":
        small = [g.label for g in groups if len(g.values) < 2]
        if small:
            raise BaselineError(f"an {chart} chart needs at least 2 wafers a lot; {', '.join(small)} had fewer "
                                "(use the imr chart for one-wafer lots)")


def baseline(chart: Chart, groups: Sequence[Subgroup]) -> Baseline:
    """Phase-I limits from these lots (oldest first)."""
    _need(chart, groups)
    if chart == "imr":
        means = [g.mean for g in groups]
        mr = statistics.fmean(abs(b - a) for a, b in zip(means, means[1:], strict=False))
        center, sigma = statistics.fmean(means), mr / constants(2).d2
    else:
        center = statistics.fmean(v for g in groups for v in g.values)
        per = [g.range / constants(len(g.values)).d2 if chart == "xbar_r" else g.stdev / constants(len(g.values)).c4
               for g in groups]
        sigma = statistics.fmean(per)
    if not sigma > 0 or not math.isfinite(sigma) or not math.isfinite(center):
        raise BaselineError(f"the baseline's {len(groups)} lots show no spread (σ = {sigma:g}): no limits can be set")
    return Baseline(chart, center, sigma, len(groups))


@dataclass(frozen=True)
class Point:
    """One lot on the chart: its location value (lot mean) and dispersion value (MR, R or S), each
    with its limits, standardised location z, and the signals it completes."""
    label: str
    value: float
    z: float
    limits: Limits
    spread: float | None
    spread_limits: Limits
    signals: tuple[Signal, ...]


def points(base: Baseline, groups: Sequence[Subgroup], rules: Sequence[int] = ALL) -> list[Point]:
    """Each lot on the baseline's chart (oldest first), with the run rules evaluated as they arrive."""
    out: list[Point] = []
    zs: list[float] = []
    for i, g in enumerate(groups):
        n = len(g.values)
        if base.chart != "imr" and n < 2:
            raise BaselineError(f"{g.label} has {n} wafer: an {base.chart} point needs 2 or more")
        loc = base.location(n)
        sd = (loc.ucl - loc.center) / 3
        zs.append((g.mean - base.center) / sd)
        if base.chart == "imr":
            spread = abs(g.mean - groups[i - 1].mean) if i else None
            disp = base.dispersion(2)
        else:
            spread = g.range if base.chart == "xbar_r" else g.stdev
            disp = base.dispersion(n)
        found = list(signals_at(zs, i, rules))
        if spread is not None and 1 in rules and not disp.lcl <= spread <= disp.ucl:
            found.append(Signal(i, 1, 1 if spread > disp.ucl else -1, DISPERSION[base.chart]))
        out.append(Point(g.label, g.mean, zs[-1], loc, spread, disp, tuple(found)))
    return out
