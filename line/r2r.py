"""Run-to-run control: an EWMA controller per (recipe version, tool) that moves the recipe's one
declared knob before each lot, within the bounds the engineer approved with the recipe, steering the
step's tuning measurement to its spec target. This is SEMI E40's process-job tuning hook.

Models (the recipe's `tuning.model`):
- proportional, output = b · knob (Faraday: thickness ∝ plating time; deposition time): b is
  estimated, b̂ ← λ·(ȳ / u) + (1 − λ)·b̂, and the next knob is target / b̂;
- linear, output = a + g · knob (g declared beside the recipe): a is estimated,
  â ← λ·(ȳ − g·u) + (1 − λ)·â, and the next knob is (target − â) / g.

The first lot runs the parent's value and its measurement starts the estimate. Each derived body is
recorded (parent identity, the value sent, the estimate and the job whose measurement set it) before
the job is set up, keyed by the job id, so a resumed step sends the very same body; a lot's
measurement updates the estimate once. Written here rather than taken from a library: no maintained
Python package does R2R, and the EWMA controller is a few lines the tests check by hand."""
from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import select

from drivers.jobs import body_hash
from line.ledger import Ledger
from line.ledger import models as m
from line.recipes.tool_recipe import ToolRecipe
from line.recipes.tuning import Tuning, knob_value, with_knob


def observe(t: Tuning, knob: float, mean: float) -> float:
    """What one lot says about the model's unknown: b = ȳ / u, or a = ȳ − g·u."""
    return mean / knob if t.model == "proportional" else mean - (t.gain or 0.0) * knob


def smooth(t: Tuning, estimate: float | None, observed: float) -> float:
    """EWMA, started by the first observation."""
    return observed if estimate is None else t.weight * observed + (1 - t.weight) * estimate


def setting(t: Tuning, estimate: float, target: float) -> float:
    """The knob that puts the model on target (not yet bounded)."""
    if t.model == "proportional":
        return target / estimate if estimate > 0 else math.inf
    return (target - estimate) / (t.gain or 1.0)


@dataclass(frozen=True)
class Derived:
    parameters: BaseModel
    row: m.R2rAdjustment


def derive(ledger: Ledger, recipe: ToolRecipe, parameters: BaseModel, tool_id: str, lot_id: str, step_id: str,
           job_id: str, target: float) -> Derived:
    """The body to send for this job: the one recorded for it before (a resumed step), else the knob
    set from the controller's estimate for (recipe, tool), bounded, and recorded now."""
    t = recipe.tuning
    if t is None:
        raise ValueError(f"{recipe.ref} declares no tuning bounds")
    body = parameters.model_dump(mode="json")
    parent_value = float(knob_value(body, t.knob))
    with ledger.session() as s:
        row = s.scalars(select(m.R2rAdjustment).where(m.R2rAdjustment.job_id == job_id)).first()
        if row is None:
            state = s.scalars(select(m.R2rState).where(m.R2rState.recipe == recipe.ref,
                                                       m.R2rState.tool_id == tool_id)).first()
            basis = s.scalars(select(m.R2rAdjustment).where(
                m.R2rAdjustment.recipe == recipe.ref, m.R2rAdjustment.tool_id == tool_id,
                m.R2rAdjustment.fed_back_at.is_not(None)).order_by(m.R2rAdjustment.fed_back_at.desc()).limit(1)).first()
            wanted = parent_value if state is None else setting(t, state.estimate, target)
            derived = with_knob(body, t.knob, round(min(max(wanted, t.min), t.max), 4))
            row = m.R2rAdjustment(
                job_id=job_id, lot_id=lot_id, step_id=step_id, tool_id=tool_id, recipe=recipe.ref,
                parent_sha256=recipe.sha256, parent_body_sha256=body_hash(body), derived_sha256=body_hash(derived),
                knob=t.knob, parent_value=parent_value, value=float(knob_value(derived, t.knob)),
                clipped=not t.min <= wanted <= t.max, target=target,
                estimate=state.estimate if state else None, basis_job_id=basis.job_id if basis else "",
                basis_mean=basis.measured_mean if basis else None)
            s.add(row)
            s.add(m.Event(entity="r2r", entity_id=f"{recipe.ref}/{tool_id}", source=f"{parent_value:g}",
                          dest=f"{row.value:g}", trigger="derive",
                          data={"job": job_id, "knob": t.knob, "derived_sha256": row.derived_sha256}))
            s.flush()
        value = row.value
    return Derived(type(parameters).model_validate(with_knob(body, t.knob, value)), row)


def feedback(ledger: Ledger, recipe: ToolRecipe, job_id: str, step_run_id: int) -> m.R2rAdjustment | None:
    """This lot's mean of the tuning measurement (processed wafers, finite values) updates the
    controller once; None when the job had no adjustment, was fed back already, or measured nothing."""
    t = recipe.tuning
    if t is None:
        return None
    with ledger.session() as s:
        row = s.scalars(select(m.R2rAdjustment).where(m.R2rAdjustment.job_id == job_id)).first()
        if row is None or row.fed_back_at is not None:
            return None
        values = [v for v in s.scalars(
            select(m.Measurement.value).join(m.WaferResult, (m.WaferResult.step_run_id == m.Measurement.step_run_id)
                                             & (m.WaferResult.wafer_id == m.Measurement.wafer_id))
            .where(m.Measurement.step_run_id == step_run_id, m.Measurement.name == t.measurement,
                   m.WaferResult.status == "PROCESSED")) if math.isfinite(v)]
        if not values:
            return None
        mean = sum(values) / len(values)
        state = s.scalars(select(m.R2rState).where(m.R2rState.recipe == row.recipe,
                                                   m.R2rState.tool_id == row.tool_id)).first()
        estimate = smooth(t, state.estimate if state else None, observe(t, row.value, mean))
        if state is None:
            state = m.R2rState(recipe=row.recipe, tool_id=row.tool_id, knob=t.knob, model=t.model, estimate=estimate)
            s.add(state)
        state.estimate, state.lots, state.updated_at = estimate, (state.lots or 0) + 1, m.utcnow()
        row.measured_mean, row.measured_n, row.estimate_after, row.fed_back_at = mean, len(values), estimate, m.utcnow()
        s.add(m.Event(entity="r2r", entity_id=f"{row.recipe}/{row.tool_id}", source="", dest=f"{estimate:.6g}",
                      trigger="feedback", data={"job": job_id, "mean": mean, "n": len(values)}))
        s.flush()
        return row


def states(ledger: Ledger) -> list[m.R2rState]:
    with ledger.session() as s:
        return list(s.scalars(select(m.R2rState).order_by(m.R2rState.recipe, m.R2rState.tool_id)))


def adjustments(ledger: Ledger, recipe: str = "", tool_id: str = "", lot_id: str = "", limit: int = 50) -> list[m.R2rAdjustment]:
    with ledger.session() as s:
        q = select(m.R2rAdjustment).order_by(m.R2rAdjustment.id.desc()).limit(limit)
        for col, value in ((m.R2rAdjustment.recipe, recipe), (m.R2rAdjustment.tool_id, tool_id),
                           (m.R2rAdjustment.lot_id, lot_id)):
            if value:
                q = q.where(col == value)
        return list(s.scalars(q))
