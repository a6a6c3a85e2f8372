"""The limits a measurement is judged against, in one place: the route step's spec (LSL/USL) when it
has one for the measurement, else the tool-reported target ± the step's tolerance. The step decides
its hold with them, the ledger stores them with each value, and every view (lot artifact, hold form,
`lot show`) shows them — so what an operator reads is what the step decided on."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drivers.jobs import Measurement, WaferResult
from drivers.vocabulary import WaferStatus


@dataclass(frozen=True)
class Limits:
    lsl: float | None
    usl: float | None

    def text(self) -> str:
        lo = "" if self.lsl is None else f"{self.lsl:g}"
        hi = "" if self.usl is None else f"{self.usl:g}"
        return f"[{lo}, {hi}]"


def within(value: float, lsl: float | None, usl: float | None) -> bool:
    """Inside both limits. NaN or ±inf is never inside: a reading that is not a number fails loudly."""
    if not math.isfinite(value):
        return False
    return not ((lsl is not None and value < lsl) or (usl is not None and value > usl))


def limits_for(ms: Measurement, tolerance_pct: float, specs: Sequence[Any] | None) -> Limits | None:
    """The route's spec for this measurement if the step has specs (a measurement they do not name
    has none), else target ± tolerance (None without a target)."""
    if specs:
        spec = next((s for s in specs if s.measurement == ms.name), None)
        return Limits(spec.lsl, spec.usl) if spec is not None else None
    if ms.target:
        band = abs(ms.target) * tolerance_pct / 100
        return Limits(ms.target - band, ms.target + band)
    return None


def judged(results: Sequence[WaferResult], tolerance_pct: float,
           specs: Sequence[Any] | None) -> dict[tuple[str, str], Limits]:
    """(wafer, measurement) → the limits it is judged against, for every measurement that has some."""
    out = {}
    for r in results:
        for ms in r.measurements:
            if (lim := limits_for(ms, tolerance_pct, specs)) is not None:
                out[(r.wafer_id, ms.name)] = lim
    return out


def spec_problems(results: Sequence[WaferResult], tolerance_pct: float, specs: Sequence[Any] | None = None) -> list[str]:
    """Out-of-spec measurements of processed wafers, and spec'd measurements the tool did not report."""
    out = []
    for r in results:
        if r.status != WaferStatus.PROCESSED:
            continue
        names = {ms.name for ms in r.measurements}
        for spec in specs or ():
            if spec.measurement not in names:
                out.append(f"{r.wafer_id} {spec.measurement}: not reported by the tool")
        for ms in r.measurements:
            lim = limits_for(ms, tolerance_pct, specs)
            if lim is None or within(ms.value, lim.lsl, lim.usl):
                continue
            if specs:
                out.append(f"{r.wafer_id} {ms.name}={ms.value:g} {ms.unit} outside {lim.text()}")
            else:
                out.append(f"{r.wafer_id} {ms.name}={ms.value:g} {ms.unit} outside {ms.target:g}±{tolerance_pct:g}%")
    return out
