"""The statistics under SPC, checked against theory: every tabulated control-chart constant
recomputed by integration (scipy), the in-control average run length of the 3σ rule simulated
against 1/(2·Φ(−3)) ≈ 370, each Western Electric rule on sequences built to fire it and not to,
and Phase-I limits against hand arithmetic."""
from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from scipy import integrate, special, stats

from line.spc.charts import Baseline, BaselineError, Subgroup, baseline, points
from line.spc.constants import TABLE
from line.spc.rules import first_signal, signals

PHI = stats.norm.cdf
LO, HI = -9.0, 9.0


def d2(n: int) -> float:
    """E[range of n standard normals] = ∫ 1 − Φ(x)ⁿ − (1 − Φ(x))ⁿ dx."""
    return integrate.quad(lambda x: 1 - PHI(x) ** n - (1 - PHI(x)) ** n, LO, HI, limit=200)[0]


def d3(n: int) -> float:
    """σ of that range: E[R²] = 2 ∬_{x<y} P(min < x, y < max) dy dx
    = 2 ∫₀^∞ ∫ 1 − (1 − Φ(x))ⁿ − Φ(x+u)ⁿ + (Φ(x+u) − Φ(x))ⁿ dx du — Simpson on an (x, u) grid, where
    the integrand is smooth (scipy's adaptive double quadrature takes minutes for the table)."""
    x = np.linspace(LO, HI, 721)
    u = np.linspace(0.0, HI - LO, 721)
    px, pxu = PHI(x)[None, :], PHI(x[None, :] + u[:, None])
    inner = integrate.simpson(1 - (1 - px) ** n - pxu ** n + (pxu - px) ** n, x=x, axis=1)
    return math.sqrt(2 * integrate.simpson(inner, x=u) - d2(n) ** 2)


def c4(n: int) -> float:
    return math.sqrt(2 / (n - 1)) * math.exp(special.gammaln(n / 2) - special.gammaln((n - 1) / 2))


@pytest.mark.parametrize("n", sorted(TABLE))
def test_each_tabulated_constant_is_what_integration_gives(n):
    t = TABLE[n]
    D2, D3_, C4 = d2(n), d3(n), c4(n)
    assert t.d2 == pytest.approx(D2, abs=0.0006) and t.d3 == pytest.approx(D3_, abs=0.0006)
    assert t.c4 == pytest.approx(C4, abs=0.00006)
    assert t.A2 == pytest.approx(3 / (D2 * math.sqrt(n)), abs=0.0006)
    assert t.A3 == pytest.approx(3 / (C4 * math.sqrt(n)), abs=0.0006)
    assert t.D3 == pytest.approx(max(0.0, 1 - 3 * D3_ / D2), abs=0.0011)
    assert t.D4 == pytest.approx(1 + 3 * D3_ / D2, abs=0.0011)
    assert t.B3 == pytest.approx(max(0.0, 1 - 3 * math.sqrt(1 - C4 ** 2) / C4), abs=0.0006)
    assert t.B4 == pytest.approx(1 + 3 * math.sqrt(1 - C4 ** 2) / C4, abs=0.0006)


def run_lengths(rules: tuple[int, ...], runs: int, seed: int) -> list[int]:
    """How many in-control points each chart plots before its first signal (the point that signals counted)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(runs):
        z: list[float] = []
        while True:
            start = max(0, len(z) - 8)            # the rules look back at most 8 points
            z += rng.standard_normal(2000).tolist()
            hit = first_signal(z[start:], rules)
            if hit is not None and start + hit >= len(z) - 2000 - 8:
                out.append(start + hit + 1)
                break
    return out


def test_the_in_control_run_length_of_the_3_sigma_rule_is_about_370():
    theory = 1 / (2 * stats.norm.sf(3))                          # 370.4
    arl = statistics.fmean(run_lengths((1,), 1500, seed=7))
    assert theory == pytest.approx(370.4, abs=0.1)
    assert arl == pytest.approx(theory, rel=0.10), arl


def test_all_four_rules_together_signal_about_every_92_points_in_control():
    """Champ & Woodall (1987): the Shewhart chart with the four Western Electric rules has an
    in-control ARL of 91.75 — the price of their sensitivity."""
    arl = statistics.fmean(run_lengths((1, 2, 3, 4), 1500, seed=11))
    assert arl == pytest.approx(91.75, rel=0.10), arl


@pytest.mark.parametrize(("z", "rule", "fires_at"), [
    ([0.5, -1.0, 3.2], 1, [2]),
    ([0.5, -3.01], 1, [1]),
    ([2.9, -2.99, 3.0], 1, []),                                   # beyond means beyond
    ([0.0, 2.1, 0.5, 2.2], 2, [3]),                               # 2 of 3 beyond 2σ, the 3rd completes it
    ([2.1, 2.3], 2, [1]),
    ([2.1, -2.2, -0.5, 2.1], 2, []),                              # opposite sides never pair
    ([2.1, 0.0, 0.0, 2.1], 2, []),                                # 4 apart: not 2 of 3
    ([-2.5, 0.1, -2.1], 2, [2]),
    ([1.1, 1.2, 0.2, 1.3, 1.4], 3, [4]),                           # 4 of 5 beyond 1σ
    ([1.1, 1.2, 0.2, 1.3, 0.9], 3, []),
    ([-1.5] * 4, 3, [3]),
    ([1.1, -1.2, 1.3, -1.4, 1.2, -0.5], 3, []),                   # alternating sides never make 4
    ([0.3] * 8, 4, [7]),                                          # 8 on one side
    ([0.3] * 7 + [-0.1], 4, []),
    ([-0.2] * 9, 4, [7, 8]),                                      # the run goes on signalling
])
def test_each_run_rule_fires_where_its_pattern_completes_and_nowhere_else(z, rule, fires_at):
    assert [s.index for s in signals(z, (rule,))] == fires_at


def test_a_signal_says_which_side_and_which_rule():
    (s,) = signals([0.0, -2.4, -2.6], (2,))
    assert (s.rule, s.side) == (2, -1) and s.text == "WE2 (2 of 3 consecutive points beyond 2σ on one side, below)"
    with pytest.raises(ValueError, match="no Western Electric rule 9"):
        signals([0.0], (9,))


def test_imr_limits_are_the_mean_and_the_average_moving_range_over_d2():
    groups = [Subgroup(f"L{i}", (v, v)) for i, v in enumerate([10.0, 12.0, 11.0, 13.0, 12.0])]
    b = baseline("imr", groups)
    mr = (2 + 1 + 2 + 1) / 4
    assert b.center == pytest.approx(11.6) and b.sigma == pytest.approx(mr / 1.128)
    assert b.location(5).ucl == pytest.approx(11.6 + 3 * mr / 1.128)              # I chart: n does not matter
    assert b.dispersion(5).ucl == pytest.approx(3.267 * mr, rel=1e-3)


def test_xbar_r_limits_pool_lots_of_different_sizes():
    groups = [Subgroup("A", (1.0, 2.0, 3.0)), Subgroup("B", (2.0, 4.0)), Subgroup("C", (1.0, 1.5, 2.0, 2.5, 3.0))]
    b = baseline("xbar_r", groups)
    sigma = (2 / 1.693 + 2 / 1.128 + 2 / 2.326) / 3
    assert b.sigma == pytest.approx(sigma)
    assert b.location(4).ucl - b.center == pytest.approx(3 * sigma / 2)            # A2·R̄ with R̄ = d2·σ
    assert b.dispersion(5).ucl == pytest.approx(2.114 * 2.326 * sigma)
    s = baseline("xbar_s", groups)
    assert s.sigma == pytest.approx(statistics.fmean([1.0 / 0.8862, math.sqrt(2) / 0.7979, 0.790569 / 0.94]), rel=1e-5)


def test_sigma_within_a_lot_is_recovered_from_simulated_lots():
    rng = np.random.default_rng(3)
    groups = [Subgroup(f"L{i}", tuple(rng.normal(10, 0.2, 5))) for i in range(200)]
    assert baseline("xbar_r", groups).sigma == pytest.approx(0.2, rel=0.05)
    assert baseline("xbar_s", groups).sigma == pytest.approx(0.2, rel=0.05)
    lot_means = [Subgroup(f"M{i}", (float(v),)) for i, v in enumerate(rng.normal(10, 0.5, 300))]
    assert baseline("imr", lot_means).sigma == pytest.approx(0.5, rel=0.08)


def test_a_shifted_lot_signals_on_the_location_chart_and_a_wide_one_on_the_range_chart():
    b = Baseline("xbar_r", center=10.0, sigma=0.2, lots=20)
    lots = [Subgroup("ok", (9.9, 10.1, 10.0, 10.05)), Subgroup("shift", (10.4, 10.35, 10.45, 10.4)),
            Subgroup("wide", (9.2, 10.8, 10.0, 10.0))]
    got = points(b, lots)
    assert got[0].signals == ()
    assert [(s.rule, s.chart, s.side) for s in got[1].signals] == [(1, "", 1)]      # z = 0.4 / (0.2/2) = 4
    assert got[1].z == pytest.approx(4.0)
    assert [(s.rule, s.chart) for s in got[2].signals] == [(1, "R")]
    assert got[2].signals[0].text == "R chart: the spread above its control limit"


@pytest.mark.parametrize(("chart", "groups", "says"), [
    ("imr", [Subgroup("A", (1.0,))], "at least 2 lots"),
    ("xbar_r", [Subgroup("A", (1.0,)), Subgroup("B", (1.0, 2.0))], "A had fewer"),
    ("imr", [Subgroup("A", (1.0,)), Subgroup("B", (1.0,))], "no spread"),
    ("pchart", [Subgroup("A", (1.0,)), Subgroup("B", (2.0,))], "no chart 'pchart'"),
])
def test_a_baseline_that_cannot_give_limits_is_refused_with_the_reason(chart, groups, says):
    with pytest.raises(BaselineError, match=says):
        baseline(chart, groups)
