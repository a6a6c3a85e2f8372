"""Batch jobs: lots of one recipe body sharing one job on a batch tool (an oven's boat, a wet bench's
cassette), whose time does not grow with the wafers it carries — on the line's bottleneck ovens,
a job that carries three lots triples what the group turns out.

One E40 job carries the wafers; everything else stays per lot. The step granted the tool leads
(`dispatch_queue.claim` takes the riders into its job); its `ToolStep` begins a step run for every
lot with the batch job's id, records each lot's own wafers, results, SPC judgement and hold, and
ends them all in one transaction. A rider's orchestrator follows its own step run here (`follow`)
and returns its outcome as if it had run the job itself. Resume is per lot: a lot begun in a batch
job reattaches that job by its id and records its own wafers; one whose batch job never reached the
tool runs as its own job (`ToolStep._run_alone`). A rider whose leader dies mid-job takes over the
same way, once the leader's lease on the tool is gone.
"""
from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Any

from drivers.jobs import body_hash
from drivers.registry import SPECS
from line.dispatch_queue import Batchable, Grant
from line.leases import holder_alive, released
from line.ledger import Ledger
from line.ledger import models as m
from line.plan import LotPlan, PlannedStep
from line.recipes.route import Spec
from line.steps import Rider, StepOutcome

FOLLOW_POLL_S = 0.25


def batchable(plan: LotPlan, step: PlannedStep, lot_id: str, wafers: list[str], rework: int, flow_run_id: str,
              tool_ids: list[str]) -> Batchable | None:
    """How this step may share a job, or None: a kind that processes its wafers one job at a time,
    no batch tool among those that may run it, or a recipe run-to-run control tunes per lot."""
    if not SPECS[step.kind].batch or step.r2r_target is not None:
        return None
    line = plan.current_line()
    policies = {t: (p.max_wafers, p.max_wait_min * 60 / plan.clock_speed)
                for t in tool_ids if (p := line.tool(t).batch) is not None}
    if not policies:
        return None
    key = f"{step.kind}:{step.recipe.ref}:{body_hash(step.parameters.model_dump(mode='json'))[:24]}"
    member = asdict(Rider(lot_id, step.id, tuple(wafers), rework, flow_run_id, (), step.tolerance_pct, step.operation))
    member["specs"] = [s.model_dump(mode="json") for s in step.specs]
    return Batchable(key, len(wafers), member, policies)


def rider(member: dict[str, Any]) -> Rider:
    """A lot taken into a batch job, as its request described it."""
    return Rider(member["lot_id"], member["step_id"], tuple(member["wafers"]), int(member["rework"]),
                 member["flow_run_id"], tuple(Spec.model_validate(s) for s in member["specs"]),
                 float(member["tolerance_pct"]), member["operation"])


def follow(ledger: Ledger, grant: Grant, lot_id: str, step_id: str, rework: int,
           stop: threading.Event | None = None) -> StepOutcome | None:
    """Wait while the leader runs this lot's step in its batch job; its outcome from the ledger once
    the step ended. None when the leader is gone (its lease on the tool lapsed or released) and the
    step did not end: the caller runs it itself — reattached on its tool if it was begun, queued
    again if it was not."""
    while True:
        run = ledger.find_step(lot_id, step_id, rework)
        if run is not None and run.status != "RUNNING":
            return outcome_of(ledger, run)
        lease = ledger.lease(grant.tool_id)
        if lease is None or lease[0] != grant.leader or lease[1] or holder_alive(lease[0]) is False:
            run = ledger.find_step(lot_id, step_id, rework)
            return outcome_of(ledger, run) if run is not None and run.status != "RUNNING" else None
        if stop is not None and stop.is_set():
            return None
        released.wait_for_next(FOLLOW_POLL_S)


def outcome_of(ledger: Ledger, run: m.StepRun) -> StepOutcome:
    """A step's outcome as the ledger holds it (what a rider's leader recorded for it)."""
    hold = next((h for h in reversed(ledger.holds(run.lot_id)) if h.step_run_id == run.id), None)
    results = ledger.results(run.id)
    status = "COMPLETE" if run.status == "COMPLETE" else "ON_HOLD"
    return StepOutcome(run.lot_id, run.step_id, run.id, run.tool_id, run.job_id,
                       f"{run.recipe_name}@v{run.recipe_version}", run.recipe_hash, status,
                       hold.reason_type if hold and status == "ON_HOLD" else "",
                       hold.reason if hold and status == "ON_HOLD" else "",
                       wafer_status={r.wafer_id: r.status for r in results})
