"""A discrete-event model (SimPy) of the same line and dispatch rule as `line.lot_flow`, so the
measured throughput can be told apart into what the line could do and what the host costs.

The rule modelled: a lot runs its route's steps in order; each step claims a free tool of its
kind that accepts the recipe (the tool groups of `line.dispatch.candidates`), holds it for the
whole job — the lot is the job, batch tools take one lot, single-wafer tools walk its wafers —
and releases it. A freed tool goes to the best-ranked waiting step by the dispatch queue's own
rule (`line.dispatch_queue.rank_key`: a step near its queue-time limit first, then priority, then
fewest steps to its route's bottleneck group, then first come), told at once — as the real line's
lots in one process are — or, with `poll_s`, at the winner's next poll (a random phase). The line
is held saturated by CONWIP: `wip` lots in process, each finished lot replaced at once by the next
product in A, B, C, D order. A step that starts past its queue-time limit is counted (the real
line holds its lot).

Host costs, in simulated seconds, are zero for the ideal model; the throughput benchmark feeds in
what it measured on the real run, so the same model says what those costs do to throughput."""
from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import simpy

from line.dispatch_queue import Waiting, rank_key

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Step:
    group: str
    job_s: float
    to_bottleneck: int | None = None
    limits: tuple[tuple[int, float], ...] = ()     # (index of the earlier step, seconds after its end)


@dataclass(frozen=True)
class HostDelays:
    """What the host adds around a job, in simulated seconds."""
    claim_to_start: float = 0.0    # tool leased, job not started yet (load route, set up, ledger)
    end_to_release: float = 0.0    # job over on the tool, lease still held (results, ledger, close)
    between_steps: float = 0.0     # the lot holds no tool: task end → next claim
    poll_s: float = 0.0            # a waiting lot looks for a free tool this often (0: told at once)


@dataclass
class ModelResult:
    wafers_per_h: float
    completed_lots: int
    utilisation: dict[str, float]                  # busy (job running) share per group, in the window
    held: dict[str, float]                         # leased share (job + host time around it)
    cycle_h: dict[str, float] = field(default_factory=dict)   # mean lot cycle time per product
    wait_s: float = 0.0                            # mean wait for a free tool per step (steps ending in the window)
    late_steps: int = 0                            # steps that started past a queue-time limit (held on the real line)


class Pool:
    """A tool group: any free tool; a freed tool goes to the best-ranked waiting step (the dispatch
    queue's rule), which takes it at once or, with `poll_s`, at its next poll (a random phase)."""

    def __init__(self, env: simpy.Environment, tools: int, rng: random.Random, poll_s: float) -> None:
        self.env, self.free, self.rng, self.poll_s = env, tools, rng, poll_s
        self.waiters: list[tuple[Waiting, simpy.Event]] = []
        self.n = 0

    def claim(self, step: Step, due_s: float | None, limit_s: float | None) -> simpy.Event:
        ev = self.env.event()
        if self.free > 0:
            self.free -= 1
            ev.succeed()
        else:
            self.n += 1
            w = Waiting(str(self.n), (), 0, step.to_bottleneck, at(self.env.now),
                        at(due_s) if due_s is not None else None, limit_s, self.n)
            self.waiters.append((w, ev))
        return ev

    def release(self) -> None:
        if not self.waiters:
            self.free += 1
            return
        now = at(self.env.now)
        best = min(range(len(self.waiters)), key=lambda i: rank_key(self.waiters[i][0], now))
        _, winner = self.waiters.pop(best)
        delay = self.poll_s * self.rng.random() if self.poll_s > 0 else 0.0
        if delay <= 0:
            winner.succeed()
            return

        def notice():
            yield self.env.timeout(delay)
            winner.succeed()
        self.env.process(notice())


def at(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def simulate(routes: dict[str, list[Step]], groups: dict[str, int], lot_size: int, wip: int,
             horizon_s: float, warmup_s: float, host: HostDelays = HostDelays(),
             order: str = "ABCD", seed: int = 0) -> ModelResult:
    """Run the CONWIP line for `horizon_s`; figures are taken over [warmup_s, horizon_s]."""
    rng = random.Random(seed)
    env = simpy.Environment()
    pools = {g: Pool(env, n, rng, host.poll_s) for g, n in groups.items()}
    busy = {g: 0.0 for g in groups}
    held = {g: 0.0 for g in groups}
    done: list[tuple[float, str, float]] = []       # (end time, product, cycle time)
    waits: list[float] = []
    release = {"n": 0}
    late = {"n": 0}

    def clip(t0: float, t1: float) -> float:
        return max(0.0, min(t1, horizon_s) - max(t0, warmup_s))

    def lot(product: str):
        start = env.now
        ended: list[float] = []
        for step in routes[product]:
            pool = pools[step.group]
            t_ask = env.now
            dues = [(ended[i] + limit, limit) for i, limit in step.limits if i < len(ended)]
            due, limit = min(dues) if dues else (None, None)
            yield pool.claim(step, due, limit)
            t_claim = env.now
            if due is not None and t_claim > due and warmup_s <= t_claim <= horizon_s:
                late["n"] += 1
            yield env.timeout(host.claim_to_start)
            t_start = env.now
            yield env.timeout(step.job_s)
            busy[step.group] += clip(t_start, env.now)
            yield env.timeout(host.end_to_release)
            held[step.group] += clip(t_claim, env.now)
            if warmup_s <= env.now <= horizon_s:
                waits.append(t_claim - t_ask)
            pool.release()
            ended.append(env.now)
            yield env.timeout(host.between_steps)
        done.append((env.now, product, env.now - start))

    def feeder(slot: int):
        while True:
            product = order[release["n"] % len(order)]
            release["n"] += 1
            yield env.process(lot(product))

    for i in range(wip):
        env.process(feeder(i))
    env.run(until=horizon_s)
    window = horizon_s - warmup_s
    in_window = [d for d in done if d[0] >= warmup_s]
    cycle: dict[str, list[float]] = {}
    for _, p, c in in_window:
        cycle.setdefault(p, []).append(c)
    return ModelResult(
        wafers_per_h=len(in_window) * lot_size / (window / 3600),
        completed_lots=len(in_window),
        utilisation={g: busy[g] / (window * groups[g]) for g in groups},
        held={g: held[g] / (window * groups[g]) for g in groups},
        cycle_h={p: sum(v) / len(v) / 3600 for p, v in cycle.items()},
        wait_s=sum(waits) / len(waits) if waits else 0.0, late_steps=late["n"])


def replicate(routes: dict[str, list[Step]], groups: dict[str, int], lot_size: int, wip: int,
              horizon_s: float, warmup_s: float, host: HostDelays = HostDelays(), reps: int = 20
              ) -> tuple[ModelResult, dict[str, float]]:
    """`reps` runs with different polling phases: the mean result and each group's busy share's
    standard deviation across runs."""
    runs = [simulate(routes, groups, lot_size, wip, horizon_s, warmup_s, host, seed=i) for i in range(reps)]
    mean = ModelResult(
        wafers_per_h=statistics.fmean(r.wafers_per_h for r in runs),
        completed_lots=round(statistics.fmean(r.completed_lots for r in runs)),
        utilisation={g: statistics.fmean(r.utilisation[g] for r in runs) for g in groups},
        held={g: statistics.fmean(r.held[g] for r in runs) for g in groups},
        cycle_h={p: statistics.fmean(r.cycle_h[p] for r in runs if p in r.cycle_h)
                 for p in {p for r in runs for p in r.cycle_h}},
        wait_s=statistics.fmean(r.wait_s for r in runs), late_steps=round(statistics.fmean(r.late_steps for r in runs)))
    sd = {g: statistics.pstdev(r.utilisation[g] for r in runs) for g in groups}
    return mean, sd


def route_steps(cfg: Any, routes: dict[str, Any], lot_size: int) -> tuple[dict[str, list[Step]], dict[str, int]]:
    """Each route as (tool group, job time) steps; the groups with their number of tools."""
    from bench.jobtimes import job_time_s
    from line.dispatch import candidates

    groups: dict[str, int] = {}
    out: dict[str, list[Step]] = {}
    for product, route in routes.items():
        rows = []
        load: dict[str, float] = {}           # the route's bottleneck kind, as `LotPlan.bottleneck_kind` finds it
        for rs in route.steps:
            tools = candidates(cfg, rs.step.tool_kind, rs.recipe.name, rs.body)
            key = "+".join(t.id for t in tools)
            groups[key] = len(tools)
            t0 = tools[0]
            rows.append((rs, key, job_time_s(t0.kind, rs.body, lot_size, {**t0.capabilities, **t0.options})))
            load[t0.kind] = load.get(t0.kind, 0.0) + job_time_s(t0.kind, rs.body, 25, t0.options) / len(tools)
        neck = max(load, key=lambda k: load[k])
        kinds = [rs.step.tool_kind for rs, _, _ in rows]
        ids = [rs.step.id for rs, _, _ in rows]
        out[product] = [Step(key, job_s, next((j - i for j in range(i, len(kinds)) if kinds[j] == neck), None),
                             tuple((ids.index(q.since), q.max_h * 3600) for q in rs.step.queue_limits))
                        for i, (rs, key, job_s) in enumerate(rows)]
    overlap = [(a, b) for a in groups for b in groups if a < b and set(a.split("+")) & set(b.split("+"))]
    if overlap:
        raise ValueError(f"tool groups overlap ({overlap[0]}): the bound needs a flow model, not a minimum")
    return out, groups


def bottleneck_bound(routes: dict[str, list[Step]], groups: dict[str, int], lot_size: int,
                     order: str = "ABCD") -> tuple[float, dict[str, float]]:
    """Wafers per hour the slowest group allows for the product mix `order` (one lot of each in
    turn), and each group's capacity in wafers per hour of that mix."""
    work = {g: 0.0 for g in groups}
    for product in order:
        for step in routes[product]:
            work[step.group] += step.job_s
    wafers = lot_size * len(order)
    capacity = {g: (wafers * groups[g] / (work[g] / 3600)) if work[g] else float("inf") for g in groups}
    return min(capacity.values()), capacity
