"""The lot flow — the only one: one Prefect flow run per lot over its plan (a product's route, or one
tool recipe for `bumpline run`, a one-step route). The plan is resolved once; each step is a task
that takes it, dispatches to a capable, free tool (a lease in the ledger), runs the job through the
driver, checks the specs and commits, and returns its `StepOutcome` as it is. A step the ledger
already has COMPLETE is never run again; a step that was cut off is reattached on its tool by its
job id; a hold stops the lot with its reason (or waits for an operator's decision)."""
from __future__ import annotations

import line.prefect_env  # noqa: F401 - Prefect's settings, before Prefect is imported

# isort: split

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext, get_run_context
from prefect.states import Cancelled, Failed, State
from prefect.utilities.annotations import quote

from drivers.errors import BumplineError
from line import heap, r2r
from line.batching import batchable, follow, rider
from line.chart_artifacts import publish_step_charts
from line.dashboard import artifact_key, publish_lot
from line.dispatch import preference
from line.dispatch_queue import Grant, QueueTimeExceeded, Request, claim, unreserve
from line.holds import apply_decision, runs_again
from line.leases import LotBusy, lot_lease, orchestrator_id
from line.ledger import Ledger
from line.ledger.models import utcnow
from line.ledger.store import shared_ledger
from line.plan import LotPlan, PlannedStep, load_plan
from line.progress import Progress, flush_progress
from line.queue_zones import closing_next, queue_deadline_for, reserve_next, zone_closed, zones_opened
from line.recipes.identity import NotApproved, VersionChanged, ensure_runnable
from line.recipes.qualification import production_problems, unrunnable_steps
from line.recorder import JobProgressed, StepContext, StepEvent, listen
from line.steps import Leased, StepOutcome, ToolStep, job_id_for
from line.yamlio import DocumentError

if TYPE_CHECKING:
    from line.holds import HoldDecision


@task(name="route-step", retries=0, cache_policy=NO_CACHE, task_run_name="{step_id}")
def route_step_task(plan: LotPlan, step_id: str, lot_id: str, wafers: list[str], db_url: str | None, rework: int,
                    flow_run_id: str, priority: int = 0) -> StepOutcome | State:
    step = plan.step(step_id)
    ledger = shared_ledger(db_url)   # one engine per process, not one per step
    stop_following = listen(job_progress(job_id_for(lot_id, step_id, rework)))
    try:
        # None: the batch job this step was taken into lost its leader before the step ended — run it here
        while (outcome := dispatch_and_run(ledger, plan, step, lot_id, wafers, rework, flow_run_id, priority)) is None:
            pass
    finally:
        stop_following()
    log = get_run_logger()
    if outcome.status == "COMPLETE":
        log.info(outcome.headline)
        return outcome
    log.warning(outcome.headline)
    # the step is recorded and the lot held, but the UI must never draw it like success: Failed, named
    # OnHold, its outcome kept as the state's data (the task has no retries: nothing runs it again)
    return Failed(name="OnHold", message=outcome.headline, data=outcome)


def dispatch_and_run(ledger: Ledger, plan: LotPlan, step: PlannedStep, lot_id: str, wafers: list[str], rework: int,
                     flow_run_id: str, priority: int) -> StepOutcome | None:
    """Queue the step for a tool and run it there — leading a batch job when its tool shares jobs —
    or follow it in the batch job of another lot that took it in (None: that leader is gone)."""
    tools = plan.tools_for(step)
    earlier = ledger.find_step(lot_id, step.id, rework)
    deadline = None
    if earlier is not None and earlier.tool_id:
        # the job of a step that was started lives on its tool: go back there, never elsewhere
        tools = [t for t in tools if t.id == earlier.tool_id] or [plan.current_line().tool(earlier.tool_id)]
    elif tools:
        deadline = queue_deadline_for(ledger, lot_id, step.id, step.queue_limits, plan.clock_speed)
    if not tools:
        return held_before_a_tool(ledger, plan, step, lot_id, rework, flow_run_id, "NO_TOOL",
                                  f"no {step.kind} on line {plan.current_line().metadata.name} may run "
                                  f"{step.recipe.ref}{' on ' + step.pinned_tool if step.pinned_tool else ''}: "
                                  + plan.why_no_tool(step))
    ids = preference(ledger, tools, step.id)
    # a step begun before (a resume) goes back to its own job: it neither leads nor joins a batch
    batch = None if earlier is not None else batchable(plan, step, lot_id, wafers, rework, flow_run_id, ids)
    due_at, limit_s, due_text = deadline or (None, None, "")
    # a step that opens a queue-time zone waits before it while the zone could not be closed in time
    gate = (lambda: zone_closed(ledger, plan, step, len(wafers), utcnow(), lot_id)) \
        if earlier is None and zones_opened(plan, step, len(wafers)) else None
    # the zone-closing step after this one holds its place while the lot runs this one
    enter = (lambda hold: reserve_next(ledger, plan, step, lot_id, len(wafers), priority, utcnow()) if hold
             else unreserve(ledger, lot_id)) if closing_next(plan, step) is not None else None
    request = Request(job_id_for(lot_id, step.id, rework), lot_id, step.id, step.kind, tuple(ids), priority,
                      plan.to_bottleneck(step), due_at, limit_s, due_text, batch=batch, gate=gate, enter=enter,
                      begun=earlier is not None)
    try:
        with claim(ledger, request) as grant:
            if not grant.leader:
                outcome = run_on_tool(ledger, plan, step, grant, lot_id, wafers, rework, flow_run_id,
                                      earlier is not None)
                return _kept(ledger, outcome, lot_id, enter is not None)
    except QueueTimeExceeded as late:
        return held_before_a_tool(ledger, plan, step, lot_id, rework, flow_run_id, "QUEUE_TIME", str(late))
    followed = follow(ledger, grant, lot_id, step.id, rework)
    return _kept(ledger, followed, lot_id, enter is not None) if followed is not None else None


def _kept(ledger: Ledger, outcome: StepOutcome, lot_id: str, reserved: bool) -> StepOutcome:
    """A lot that does not go on to its next step now gives up the place it held there."""
    if reserved and outcome.status != "COMPLETE":
        unreserve(ledger, lot_id)
    return outcome


def run_on_tool(ledger: Ledger, plan: LotPlan, step: PlannedStep, grant: Grant, lot_id: str, wafers: list[str],
                rework: int, flow_run_id: str, begun: bool) -> StepOutcome:
    """The step on the tool it was granted, with the lots taken into its job."""
    parameters = step.parameters
    holder = job_id_for(lot_id, step.id, rework)
    if (target := step.r2r_target) is not None:     # run-to-run control moves the tuning knob
        parameters = r2r.derive(ledger, step.recipe, parameters, grant.tool_id, lot_id, step.id, holder,
                                target).parameters
    outcome = ToolStep(ledger, plan.current_line().tool(grant.tool_id), step.recipe, lot_id, step.id, wafers,
                       rework, flow_run_id, tolerance_pct=step.tolerance_pct, parameters=parameters,
                       specs=list(step.specs) or None, operation=step.operation,
                       clock_speed=plan.clock_speed, begun=begun,
                       riders=tuple(rider(member) for member in grant.riders),
                       # run-to-run: the tool's next lot is tuned from this one's feedback, written below
                       leased=Leased(grant.let_go if target is None else None)).execute()
    if target is not None:
        r2r.feedback(ledger, step.recipe, holder, outcome.step_run_id)
    return outcome


def held_before_a_tool(ledger: Ledger, plan: LotPlan, step: PlannedStep, lot_id: str, rework: int, flow_run_id: str,
                       hold_type: str, reason: str) -> StepOutcome:
    """The step is recorded begun and held before any tool was told anything (no tool may run it; its
    queue-time limit ran out while it waited)."""
    with ledger.together():
        run = ledger.begin_step(lot_id, step.id, step.kind, "", step.recipe.name, step.recipe.version, step.sha256,
                                job_id_for(lot_id, step.id, rework), rework, step.operation, flow_run_id)
        ledger.finish_step(run.id, "ON_HOLD")
        ledger.open_hold(lot_id, run.id, hold_type, reason)
    return StepOutcome(lot_id, step.id, run.id, "", run.job_id, step.recipe.ref, step.sha256, "ON_HOLD", hold_type,
                       reason)


T = TypeVar("T")


def carried(state: State, kind: type[T], what: str) -> T:
    """What a final state carries (a step's outcome, a lot's result), whether it completed or was
    held — Failed states here carry data, not only errors; a real error is raised."""
    out = state.result(raise_on_failure=False)
    if isinstance(out, kind):
        return out
    if isinstance(out, BaseException):
        raise out
    raise BumplineError(f"{what} ended {state.name} with nothing to read: {state.message}")


def job_progress(job_id: str) -> Callable[[StepContext, StepEvent], None]:
    """A progress artifact for the job running now (wafers done of the lot), moved as the tool reports."""
    progress = Progress(artifact_key("progress-job", job_id), f"job {job_id} wafers done")

    def follow(ctx: StepContext, event: StepEvent) -> None:
        if (ctx.job_id == job_id or ctx.job_id.startswith(job_id + "+")) and isinstance(event, JobProgressed) \
                and event.status.wafers_total:      # its own job, or the batch job it leads
            progress.update(event.status.wafers_done, event.status.wafers_total, f"on {ctx.tool_id}")
    return follow


def step_outcome(state: State) -> StepOutcome:
    return carried(state, StepOutcome, "a route step")


ENDINGS: dict[str, Callable[..., State]] = {
    "ON_HOLD": lambda **kw: Failed(name="OnHold", **kw),
    "ABORTED": lambda **kw: Cancelled(name="Aborted", **kw),
    "LEASE_LOST": lambda **kw: Failed(name="LeaseLost", **kw),
    "RUNNING_ELSEWHERE": lambda **kw: Cancelled(name="RunningElsewhere", **kw),
}
"""How a lot that did not complete ends in Prefect: never Completed. A lot on hold is Failed named
OnHold — Failed so that it is never drawn green and every automation on failed runs sees it; the lot
flow has no retries and deployments set none, so Prefect never re-runs it on its own (an operator's
decision and `bumpline resume` do). An aborted lot is Cancelled (Aborted), as is a run that found its
lot carried on elsewhere (RunningElsewhere); one that lost its lease is Failed (LeaseLost)."""


def lot_state(result: dict[str, Any]) -> dict[str, Any] | State:
    """The flow's return: the result as it is when the lot completed, else a named final state
    carrying it (`lot_result` reads it back)."""
    end = ENDINGS.get(result["status"])
    if end is None:
        return result
    return end(message=result.get("reason") or result["status"], data=result)


def lot_result(state: State) -> dict[str, Any]:
    """The lot flow's result dict from its final state, whatever the state (an error is raised)."""
    return cast(dict[str, Any], carried(state, dict, "the lot flow"))


def drive_lot(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run the lot flow (a Prefect flow run named by its lot) and return its result dict, however it
    ended: the CLI, `resume` and the benchmarks read the dict, the Prefect UI the named state."""
    return lot_result(cast(State, lot_flow(*args, return_state=True, **kwargs)))


@flow(name="lot", flow_run_name="{lot_id}", persist_result=False, retries=0)
def lot_flow(lot_id: str, route_path: str, wafer_count: int = 25, line_path: str = "deploy/lines/sim.yaml",
             recipes_root: str = "recipes", db_url: str | None = None, priority: int = 0, hold_timeout_s: int = 0,
             tool_id: str = "", step_id: str = "S1", tolerance_pct: float = 10.0) -> dict[str, Any] | State:
    """Run a lot through its route — or, given a ToolRecipe file, through that one step (on `tool_id`
    if given; `step_id` and `tolerance_pct` apply to that step). Safe to run again for the same lot:
    finished steps are skipped, a step cut off half-way is reattached on its tool, never repeated.
    On a hold the flow pauses for an operator's typed decision when `hold_timeout_s` > 0, else it
    ends ON_HOLD. One orchestrator per lot: the lot's lease in the ledger refuses a second one.
    In production mode a route that names no product (an engineering route) is refused.
    Returns the result dict when the lot completed, else a named non-Completed state (`ENDINGS`)
    carrying it; `drive_lot` runs it and reads the dict back either way."""
    heap.settle()
    plan = replace(load_plan(route_path, line_path, recipes_root, tool_id, step_id, tolerance_pct),
                   lot_wafers=wafer_count)
    ledger = shared_ledger(db_url)     # one engine and pool per process, however many lots it runs
    run_id = current_flow_run_id()
    if ledger.lot(lot_id) is None and plan.route and (refused := unrunnable_steps(plan.route, plan.line)
                                                       + production_problems(plan.route)):
        raise DocumentError(refused)         # a new lot: refused before anything is recorded or moves
    ledger.ensure_lot(lot_id, wafer_count, product=plan.product, route=plan.ref, priority=priority)
    try:
        with lot_lease(ledger, lot_id, orchestrator_id(run_id)) as holder:
            def run_step(step: PlannedStep, rework: int, live: list[str]) -> StepOutcome:
                # quoted: Prefect passes the plan as it is instead of walking it (~15 ms CPU a step)
                quoted = cast(LotPlan, quote(plan))   # Prefect unwraps it before the task runs
                return step_outcome(route_step_task(quoted, step.id, lot_id, live, db_url, rework, run_id,
                                                    priority, return_state=True))

            try:
                return lot_state(_run_plan(ledger, plan, lot_id, hold_timeout_s, run_step, holder))
            finally:
                flush_progress(UUID(run_id))   # the lot's last progress reaches the UI before the run ends
    except LotBusy as busy:
        get_run_logger().warning(str(busy))
        return lot_state({"lot_id": lot_id, "status": "RUNNING_ELSEWHERE", "reason": str(busy), "steps": []})


def back_to_running() -> None:
    """After a pause nobody answered, Prefect's server refuses every state but its own "never resumed"
    failure (which drops the lot's result and name): the run is set Running again first, so it can
    end in its own OnHold state with the lot's result."""
    from prefect import get_client
    from prefect.states import Running

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(current_flow_run_id(), Running(), force=True)


def current_flow_run_id() -> str:
    ctx = get_run_context()
    if not isinstance(ctx, FlowRunContext) or ctx.flow_run is None:
        raise BumplineError("the lot flow runs only as a Prefect flow run")
    return str(ctx.flow_run.id)


def _run_plan(ledger: Ledger, plan: LotPlan, lot_id: str, hold_timeout_s: int,
              run_step: Callable[[PlannedStep, int, list[str]], StepOutcome],
              holder: str | None = None) -> dict[str, Any]:
    route = plan.route
    if route is not None:
        try:
            ensure_runnable(ledger, "Route", route.name, route.version, route.sha256, route.path)
            if route.product is not None:       # what the lot will be verified against: immutable too
                p = route.product
                ensure_runnable(ledger, "Product", p.name, p.version, p.sha256, p.path)
        except (VersionChanged, NotApproved) as exc:
            ledger.open_hold(lot_id, None, "RECIPE", str(exc))
            return {"lot_id": lot_id, "status": "ON_HOLD", "reason": str(exc), "steps": []}
    ledger.set_lot_status(lot_id, "RUNNING", trigger="dispatch")
    finished = [r for r in ledger.step_runs(lot_id) if r.status in ("COMPLETE", "ACCEPTED")]
    done = {r.step_id for r in finished}
    for r in finished:      # a step that ended before its orchestrator died still teaches its R2R controller, once
        if (s := next((p for p in plan.steps if p.id == r.step_id), None)) is not None and s.r2r_target is not None:
            r2r.feedback(ledger, s.recipe, r.job_id, r.id)
    outcomes: list[StepOutcome] = []
    progress = Progress(artifact_key("progress-lot", lot_id), f"lot {lot_id} steps done")
    progress.update(len(done), len(plan.steps))

    def ended(status: str, reason: str = "") -> dict[str, Any]:
        return {"lot_id": lot_id, "status": status, **({"reason": reason} if reason else {}),
                "steps": [o.to_dict() for o in outcomes]}

    for step in plan.steps:
        if step.id in done:
            continue
        rework = next_rework(ledger, lot_id, step.id)
        while True:
            with ledger.together():     # who runs the lot now and its live wafers: one read transaction
                now = ledger.lease_holder(f"lot:{lot_id}") if holder is not None else None
                live = [w.id for w in ledger.wafers(lot_id) if w.state != "SCRAPPED"]
            if holder is not None and now != holder:
                # the lease lapsed (this orchestrator stalled) and another took the lot over: stop here,
                # before the next step, so the two never both run one — the other carries on
                return ended("LEASE_LOST", f"lot {lot_id} is now held by {now or 'nobody'}; this orchestrator "
                                           f"({holder}) stopped before step {step.id}")
            outcome = run_step(step, rework, live)
            outcomes.append(outcome)
            publish_step_charts(ledger, outcome.step_run_id)
            if outcome.status == "COMPLETE":
                done.add(step.id)
                progress.update(len(done), len(plan.steps), f"{step.id} complete on {outcome.tool_id}")
                break
            publish_lot(ledger, lot_id, plan)
            if hold_timeout_s <= 0:
                return ended("ON_HOLD", outcome.headline)
            answer = ask_operator(ledger, lot_id, outcome.headline, hold_timeout_s)
            if answer is None:                      # nobody decided in time: the lot stays on hold
                return ended("ON_HOLD", f"{outcome.headline} — no decision within {hold_timeout_s} s")
            apply_decision(ledger, lot_id, outcome.step_run_id, answer)
            if answer.decision == "abort":
                publish_lot(ledger, lot_id, plan)
                return ended("ABORTED", outcome.headline)
            if runs_again(ledger, outcome.step_run_id, answer.decision):
                rework += 1
                continue
            done.add(step.id)                       # continue / scrap: the step was accepted as it is
            progress.update(len(done), len(plan.steps), f"{step.id} accepted by {answer.operator}")
            break
    ledger.set_lot_status(lot_id, "COMPLETE", trigger="route-complete")
    publish_lot(ledger, lot_id, plan)
    return ended("COMPLETE")


def next_rework(ledger: Ledger, lot_id: str, step_id: str) -> int:
    """The rework number to run a step at: the last one begun (a resumed step is reattached), or
    the next when an operator decided to rework it while no orchestrator was waiting."""
    last = ledger.last_attempt(lot_id, step_id)
    if last is None:
        return 0
    if last.status != "ON_HOLD":
        return last.rework
    decided = [h.decision for h in ledger.holds(lot_id) if h.step_run_id == last.id and h.decision]
    return last.rework + 1 if decided and runs_again(ledger, last.id, decided[-1]) else last.rework


def ask_operator(ledger: Ledger, lot_id: str, headline: str, timeout_s: int) -> HoldDecision | None:
    """Pause the flow run for a typed decision (the Prefect UI's resume form, or the input API);
    None when nobody decided within the timeout."""
    from prefect.exceptions import FlowPauseTimeout
    from prefect.flow_runs import pause_flow_run

    from line.hold_view import evidence_markdown
    from line.holds import HoldDecision, pending_hold, record_decision

    hold = pending_hold(ledger, lot_id)
    get_run_logger().warning(f"{headline} — waiting for an operator decision (continue / rework / scrap / abort)")
    try:
        answer = pause_flow_run(wait_for_input=HoldDecision.with_initial_data(
            description=f"**Lot {lot_id} is on hold.**\n\n{evidence_markdown(ledger, hold) or headline}\n\n"
                        "Decide: continue (accept the step as it is), rework the step, scrap named wafers, or "
                        "abort the lot — and sign it with your name."),
            timeout=timeout_s, poll_interval=2, key=f"hold-{hold.id if hold else 0}")
    except FlowPauseTimeout:
        get_run_logger().warning(f"no decision within {timeout_s} s: lot {lot_id} stays on hold; answer it with "
                                 "`bumpline lot answer`, then `bumpline resume`")
        back_to_running()
        return None
    if hold is not None:
        record_decision(ledger, hold.id, answer)
    return answer
