"""Charts of process data, drawn from the ledger on request (matplotlib, Agg: no display): the trend of
one measurement of one route step across its last lots (per wafer, each lot's mean, the limits the
values were judged by), and one step's per-wafer values against their limits. Served by
`line.chart_server`, so a chart is the same whichever worker ran the lot and drawing one never
delays a step."""
from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")   # before pyplot: no display here, ever

# isort: split

import matplotlib.pyplot as plt
from sqlalchemy import select

from line.ledger import Ledger
from line.ledger import models as m
from line.spec_limits import within

MAX_LOTS = 200


class NoData(LookupError):
    """Nothing in the ledger to draw for what was asked."""


@dataclass(frozen=True)
class Point:
    lot: str
    wafer: str
    value: float
    lsl: float | None
    usl: float | None
    tool: str


def trend_points(ledger: Ledger, step_id: str, measurement: str, tool_id: str = "", lots: int = 20) -> list[Point]:
    """The measurement's values at `step_id` over the newest `lots` lots (on `tool_id` if given), oldest first."""
    lots = max(1, min(lots, MAX_LOTS))
    with ledger.session() as s:
        runs = select(m.StepRun.id).where(m.StepRun.step_id == step_id)
        if tool_id:
            runs = runs.where(m.StepRun.tool_id == tool_id)
        newest = list(s.scalars(runs.order_by(m.StepRun.id.desc()).limit(lots)))
        rows = s.execute(select(m.Measurement, m.StepRun.lot_id, m.StepRun.tool_id)
                         .join(m.StepRun, m.Measurement.step_run_id == m.StepRun.id)
                         .where(m.Measurement.step_run_id.in_(newest), m.Measurement.name == measurement)
                         .order_by(m.StepRun.id, m.Measurement.wafer_id)).all()
    return [Point(lot, ms.wafer_id, ms.value, ms.lsl, ms.usl, tool) for ms, lot, tool in rows]


def _limits(ax: plt.Axes, points: list[Point]) -> None:
    last = points[-1]
    for value, name in ((last.lsl, "LSL"), (last.usl, "USL")):
        if value is not None:
            ax.axhline(value, color="#c62828", linestyle="--", linewidth=1)
            ax.annotate(f"{name} {value:g}", (1.0, value), xycoords=("axes fraction", "data"), fontsize=8,
                        color="#c62828", ha="right", va="bottom")


def _png(fig: plt.Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return out.getvalue()


def trend_png(ledger: Ledger, step_id: str, measurement: str, tool_id: str = "", lots: int = 20) -> bytes:
    points = trend_points(ledger, step_id, measurement, tool_id, lots)
    if not points:
        raise NoData(f"no {measurement} at step {step_id}{' on ' + tool_id if tool_id else ''} in the ledger")
    order = list(dict.fromkeys(p.lot for p in points))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    fails = {(p.lot, p.wafer) for p in points if not within(p.value, p.lsl, p.usl)}
    ax.scatter([order.index(p.lot) for p in points], [p.value for p in points], s=14,
               c=["#c62828" if (p.lot, p.wafer) in fails else "#1565c0" for p in points], label="wafers")
    means = [sum(p.value for p in points if p.lot == lot) / sum(1 for p in points if p.lot == lot) for lot in order]
    ax.plot(range(len(order)), means, color="#37474f", linewidth=1.5, marker="o", markersize=4, label="lot mean")
    _limits(ax, points)
    ax.set_xticks(range(len(order)), order, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel(measurement)
    lots_text = f"{len(order)} lot{'' if len(order) == 1 else 's'}"
    ax.set_title(f"{step_id} {measurement}{' on ' + tool_id if tool_id else ''}: last {lots_text}", fontsize=10)
    ax.grid(alpha=0.3)
    return _png(fig)


def step_png(ledger: Ledger, step_run_id: int, measurement: str) -> bytes:
    """One step's value per wafer (by slot order) against its limits; failures red."""
    with ledger.session() as s:
        run = s.get(m.StepRun, step_run_id)
        rows = list(s.scalars(select(m.Measurement).where(m.Measurement.step_run_id == step_run_id,
                                                          m.Measurement.name == measurement)
                              .order_by(m.Measurement.wafer_id)))
    if run is None or not rows:
        raise NoData(f"no {measurement} for step run {step_run_id} in the ledger")
    points = [Point(run.lot_id, ms.wafer_id, ms.value, ms.lsl, ms.usl, run.tool_id) for ms in rows]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.bar([p.wafer.rsplit(".", 1)[-1] for p in points], [p.value for p in points],
           color=["#1565c0" if within(p.value, p.lsl, p.usl) else "#c62828" for p in points])
    _limits(ax, points)
    ax.set_ylabel(f"{measurement} ({rows[0].unit})" if rows[0].unit else measurement)
    ax.set_xlabel("wafer")
    ax.set_title(f"lot {run.lot_id} {run.step_id} on {run.tool_id}: {measurement} per wafer", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)

