"""The Western Electric run rules (Western Electric *Statistical Quality Control Handbook*, 1956), on
a chart's points standardised to z = (x − centre) / σ of that point:

1. one point beyond 3σ;
2. two of three consecutive points beyond 2σ, on the same side;
3. four of five consecutive points beyond 1σ, on the same side;
4. eight consecutive points on the same side of the centre line.

A rule fires at the point that completes its pattern (that point is itself one of the pattern's),
so each run of the pattern is reported where it first became true, and the newest point's signals
are what a step acts on. Written here rather than taken from a library: the maintained Python SPC
packages either plot only or carry their own chart objects; these four are a dozen lines each,
and the tests build a sequence for each rule."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RULES: dict[int, str] = {
    1: "one point beyond 3σ",
    2: "2 of 3 consecutive points beyond 2σ on one side",
    3: "4 of 5 consecutive points beyond 1σ on one side",
    4: "8 consecutive points on one side of the centre line",
}
ALL = tuple(RULES)


@dataclass(frozen=True)
class Signal:
    index: int          # the point that completed the pattern
    rule: int
    side: int           # +1 above the centre line, −1 below
    chart: str = ""     # "" for the location chart (the lot mean); "MR", "R" or "S" for dispersion

    @property
    def text(self) -> str:
        where = "above" if self.side > 0 else "below"
        if self.chart:
            return f"{self.chart} chart: the spread {where} its control limit{'s' if self.side < 0 else ''}"
        return f"WE{self.rule} ({RULES[self.rule]}, {where})"


def _k_of_m(z: Sequence[float], i: int, k: int, m: int, beyond: float) -> int:
    """+1/−1 when point i and at least k of the (up to) m points ending at i lie beyond ±`beyond`."""
    window = z[max(0, i - m + 1):i + 1]
    for side in (1, -1):
        if side * z[i] > beyond and sum(1 for v in window if side * v > beyond) >= k:
            return side
    return 0


def signals_at(z: Sequence[float], i: int, rules: Sequence[int] = ALL) -> list[Signal]:
    """The rules point i completes."""
    out = []
    for rule in rules:
        if rule == 1:
            side = (1 if z[i] > 3 else -1) if abs(z[i]) > 3 else 0
        elif rule == 2:
            side = _k_of_m(z, i, 2, 3, 2.0)
        elif rule == 3:
            side = _k_of_m(z, i, 4, 5, 1.0)
        elif rule == 4:
            side = _k_of_m(z, i, 8, 8, 0.0)
        else:
            raise ValueError(f"no Western Electric rule {rule} (rules are {', '.join(map(str, ALL))})")
        if side:
            out.append(Signal(i, rule, side))
    return out


def signals(z: Sequence[float], rules: Sequence[int] = ALL) -> list[Signal]:
    """Every signal over the sequence, in order."""
    return [s for i in range(len(z)) for s in signals_at(z, i, rules)]


def first_signal(z: Sequence[float], rules: Sequence[int] = ALL) -> int | None:
    """The index of the first point that signals (the run length minus one), None if none does."""
    return next((i for i in range(len(z)) if signals_at(z, i, rules)), None)
