"""Charts of process data, drawn from the ledger on request (matplotlib, Agg: no display): the trend of
one measurement of one route step across its last lots (per wafer, each lot's mean, the limits the
values were judged by), one step's per-wafer values against their limits, and the wafer maps of a
metrology step's sites. Served by
`line.chart_server`, so a chart is the same whichever worker ran the lot and drawing one never
delays a step."""
from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")   # before pyplot: no display here, ever

# isort: split

import matplotlib.pyplot as plt
from matplotlib.collections import PathCollection
from matplotlib.patches import Circle
from matplotlib.tri import Triangulation
from sqlalchemy import select

from drivers.effects import WAFER_RADIUS_MM
from line.ledger import Ledger
from line.ledger import models as m
from line.spec_limits import Limits, within

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



MAX_MAPS = 25


def _scale(values: list[float]) -> tuple[float, float]:
    """The colour range: every wafer's values of the step (one scale, so wafers compare), never empty."""
    lo, hi = min(values), max(values)
    if hi <= lo:
        pad = abs(lo) * 0.01 or 1.0
        lo, hi = lo - pad, hi + pad
    return lo, hi


def _one_map(ax: plt.Axes, sites: list[m.SiteMeasurement], lo: float, hi: float, labels: bool,
             limits: tuple[float | None, float | None]) -> PathCollection:
    """One wafer: the outline, the field between its sites interpolated (linear, on their
    triangulation), each site marked; a site outside the measurement's limits ringed red."""
    ax.add_patch(Circle((0, 0), WAFER_RADIUS_MM, fill=False, color="#37474f", linewidth=1))
    ax.plot([-8, 8], [-WAFER_RADIUS_MM + 2] * 2, color="#37474f", linewidth=2)          # the notch, down
    x, y, v = [s.x_mm for s in sites], [s.y_mm for s in sites], [s.value for s in sites]
    levels = [lo + (hi - lo) * k / 16 for k in range(17)]
    if len(sites) >= 3:
        try:
            ax.tricontourf(Triangulation(x, y), v, levels=levels, cmap="viridis", vmin=lo, vmax=hi)
        except (ValueError, RuntimeError):   # sites in a line: no triangulation, the marks below still show
            pass
    marks = ax.scatter(x, y, c=v, cmap="viridis", vmin=lo, vmax=hi, s=36 if labels else 12,
                       edgecolors=["white" if within(z, *limits) else "#c62828" for z in v],
                       linewidths=1.5 if labels else 0.8, zorder=3)
    if labels:
        for s in sites:
            ax.annotate(f"{s.value:.4g}", (s.x_mm, s.y_mm), textcoords="offset points", xytext=(0, 6),
                        ha="center", fontsize=7, zorder=4)
    lim = WAFER_RADIUS_MM * 1.05
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return marks


def wafer_map_png(ledger: Ledger, step_run_id: int, name: str, wafer: str = "") -> bytes:
    """The wafer maps of one metrology step: every wafer's sites (up to MAX_MAPS, small, one colour
    scale so wafers compare), or one wafer large with each site's value. The limits of the
    measurement's mean, where the route gives them, are marked on the scale, and a site outside
    them is ringed red."""
    with ledger.session() as s:
        run = s.get(m.StepRun, step_run_id)
        q = select(m.SiteMeasurement).where(m.SiteMeasurement.step_run_id == step_run_id,
                                            m.SiteMeasurement.name == name)
        if wafer:
            q = q.where(m.SiteMeasurement.wafer_id == wafer)
        sites = list(s.scalars(q.order_by(m.SiteMeasurement.wafer_id, m.SiteMeasurement.site)))
        mean = s.scalars(select(m.Measurement).where(m.Measurement.step_run_id == step_run_id,
                                                     m.Measurement.name == f"{name}.mean").limit(1)).first()
    if run is None or not sites:
        raise NoData(f"no {name} sites{' on ' + wafer if wafer else ''} for step run {step_run_id} in the ledger")
    by_wafer: dict[str, list[m.SiteMeasurement]] = {}
    for site in sites:
        by_wafer.setdefault(site.wafer_id, []).append(site)
    shown = list(by_wafer)[:MAX_MAPS]
    lo, hi = _scale([x.value for x in sites])
    limits = (mean.lsl, mean.usl) if mean else (None, None)
    cols = min(5, len(shown))
    rows = -(-len(shown) // cols)
    size = 5.0 if len(shown) == 1 else 1.9
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols + 1.2, size * rows + 0.6), squeeze=False)
    marks: PathCollection | None = None
    for ax, wid in zip(axes.flat, shown, strict=False):
        marks = _one_map(ax, by_wafer[wid], lo, hi, len(shown) == 1, limits)
        values = [x.value for x in by_wafer[wid]]
        ax.set_title(f"{wid.rsplit('.', 1)[-1]}: {sum(values) / len(values):.4g}", fontsize=8)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    unit = sites[0].unit
    bar = fig.colorbar(marks, ax=axes, shrink=0.8) if marks is not None else None   # shown is never empty

    if bar is not None:
        bar.set_label(f"{name} ({unit})" if unit else name)
        for value in limits:
            if value is not None and lo <= value <= hi:
                bar.ax.axhline(value, color="#c62828", linewidth=2)
    said = " · limits " + Limits(*limits).text() if limits != (None, None) else ""
    more = f" (first {MAX_MAPS} of {len(by_wafer)} wafers)" if len(by_wafer) > MAX_MAPS else ""
    fig.suptitle(f"lot {run.lot_id} {run.step_id} on {run.tool_id}: {name} at {len(by_wafer[shown[0]])} sites"
                 f"{more}{said}", fontsize=9)
    return _png(fig)
