"""SPC on the line: freeze a baseline from the ledger's lots, and judge a finished step's lot on the
chart of each spec that asks for SPC. A spec with no frozen baseline takes no SPC action (and says
so); a baseline whose own lots fall outside its 3σ limits is refused unless the engineer excludes
them or keeps them knowingly."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from line.ledger import Ledger
from line.ledger import models as m
from line.ledger.spc_records import RunValues
from line.spc.charts import Baseline, BaselineError, Chart, Point, Subgroup, baseline, points
from line.spc.rules import Signal

HISTORY = 10          # the rules look back at most 8 points


def subgroups(runs: Sequence[RunValues]) -> list[Subgroup]:
    """Each run's finite values as a subgroup (a NaN reading is out of spec already; it has no place
    on a control chart)."""
    return [Subgroup(r.label, vals) for r in runs if (vals := tuple(v for v in r.values if math.isfinite(v)))]


def as_baseline(row: m.SpcBaseline) -> Baseline:
    chart: Chart = row.chart  # type: ignore[assignment]   # stored from a Chart, checked on the way in
    return Baseline(chart, row.center, row.sigma, row.lots)


def freeze(ledger: Ledger, step_id: str, measurement: str, tool_id: str, chart: Chart, lots: int, by: str,
           note: str = "", exclude: Sequence[str] = (), keep_outliers: bool = False) -> tuple[m.SpcBaseline, list[Point]]:
    """Phase I: limits from the newest `lots` lots at this step on this tool (minus `exclude`),
    stored as the active baseline. Returns it and its own lots on its chart."""
    if not by.strip():
        raise BaselineError("a baseline needs the engineer who freezes it (--by)")
    runs = [r for r in ledger.run_values(step_id, measurement, tool_id) if r.lot_id not in set(exclude)]
    if len(runs) < lots:
        raise BaselineError(f"{tool_id} has {len(runs)} lot(s) with {measurement} at {step_id}"
                            f"{' (after excluding ' + ', '.join(exclude) + ')' if exclude else ''}; "
                            f"--lots {lots} needs that many")
    runs = runs[-lots:]
    groups = subgroups(runs)
    base = baseline(chart, groups)
    own = points(base, groups, rules=(1,))
    outside = [p.label for p in own if p.signals]
    if outside and not keep_outliers:
        raise BaselineError(f"lot(s) {', '.join(outside)} fall outside the baseline's own 3σ limits: find their "
                            "cause and --exclude them, or --keep-outliers to freeze it as it is")
    row = ledger.freeze_baseline(m.SpcBaseline(
        step_id=step_id, measurement=measurement, tool_id=tool_id, chart=chart, center=base.center,
        sigma=base.sigma, lots=len(groups), first_lot=runs[0].label, last_lot=runs[-1].label,
        through_step_run_id=runs[-1].step_run_id, frozen_by=by, note=note))
    return row, own


def tools_at(ledger: Ledger, step_id: str, measurement: str) -> list[str]:
    """Every tool with values of this measurement at this step."""
    from sqlalchemy import select

    with ledger.session() as s:
        return sorted(set(s.scalars(select(m.StepRun.tool_id).join(m.Measurement, m.Measurement.step_run_id == m.StepRun.id)
                                    .where(m.StepRun.step_id == step_id, m.Measurement.name == measurement))))


@dataclass(frozen=True)
class Finding:
    """What SPC found for one spec at one finished step: the lot's point and the signals it completes."""
    step_id: str
    measurement: str
    tool_id: str
    lot_id: str
    step_run_id: int
    action: str                       # hold | flag; none: the lot could not be placed on the chart (`note` says why)
    point: Point | None
    baseline_id: int
    chart: str
    signals: tuple[Signal, ...]
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.step_id}/{self.measurement}/{self.tool_id}"

    @property
    def text(self) -> str:
        p = self.point
        if p is None:
            return f"SPC {self.step_id} {self.measurement} on {self.tool_id}: not judged — {self.note}"
        rules = "; ".join(s.text for s in self.signals)
        return (f"SPC {self.step_id} {self.measurement} on {self.tool_id}: {rules} — lot mean {p.value:.4g} "
                f"(centre {p.limits.center:.4g}, control limits {p.limits.lcl:.4g}–{p.limits.ucl:.4g}, "
                f"{self.chart} baseline #{self.baseline_id})")

    def data(self) -> dict[str, Any]:
        return {"measurement": self.measurement, "step": self.step_id, "tool": self.tool_id, "lot": self.lot_id,
                "action": self.action, "chart": self.chart, "baseline": self.baseline_id,
                "value": self.point.value if self.point else None, "z": round(self.point.z, 3) if self.point else None,
                "rules": [s.text for s in self.signals], "note": self.note}


def judge(ledger: Ledger, step_id: str, tool_id: str, lot_id: str, step_run_id: int,
          specs: Sequence[Any] | None) -> list[Finding]:
    """The signals this step run's lot completes on each SPC chart its specs ask for (none without a
    baseline, or when the run left no processed values)."""
    out = []
    for spec in specs or ():
        spc = getattr(spec, "spc", None)
        if spc is None:
            continue
        row = ledger.spc_baseline(step_id, spec.measurement, tool_id)
        if row is None:
            continue
        runs = ledger.run_values(step_id, spec.measurement, tool_id, after_run=row.through_step_run_id,
                                 through_run=step_run_id, newest=HISTORY)
        if not runs or runs[-1].step_run_id != step_run_id:
            continue
        groups = subgroups(runs)
        if not groups or groups[-1].label != runs[-1].label:
            continue
        base = as_baseline(row)
        if base.chart != "imr" and len(groups[-1].values) < 2:   # no range: it cannot go on an X̄ chart — say so
            out.append(Finding(step_id, spec.measurement, tool_id, lot_id, step_run_id, "none", None, row.id, row.chart,
                               (), f"one processed wafer: an {row.chart} point needs two or more"))
            continue
        groups = [g for g in groups if base.chart == "imr" or len(g.values) >= 2]
        last = points(base, groups, spc.rules)[-1]
        if last.signals:
            out.append(Finding(step_id, spec.measurement, tool_id, lot_id, step_run_id, spc.action, last, row.id,
                               row.chart, last.signals))
    return out
