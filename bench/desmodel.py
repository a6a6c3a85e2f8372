"""A discrete-event model (SimPy) of the same line and dispatch rule as `line.lot_flow`, so the
measured throughput can be told apart into what the line could do and what the host costs.

The rule modelled: a lot runs its route's steps in order; each step claims a free tool of its
kind that accepts the recipe (the tool groups of `line.dispatch.candidates`), holds it for the
whole job — single-wafer tools walk its wafers — and releases it. On a tool with a batch policy
the step granted the tool leads the job and takes in the best-ranked waiting steps of the same
recipe, up to the tool's wafers, waiting up to its maximum for more (`line.dispatch_queue._collect`).
A freed tool goes to the best-ranked waiting step by the dispatch queue's own
rule (`line.dispatch_rank.rank_key`: a step near its queue-time limit first, then priority, then
fewest steps to its route's bottleneck group, then first come), told at once — as the real line's
lots in one process are — or, with `poll_s`, at the winner's next poll (a random phase). The line
is held saturated by CONWIP: `wip` lots in process, each finished lot replaced at once by the next
product in A, B, C, D order. A step that starts past its queue-time limit is counted (the real
line holds its lot). Queue-time zones as `line.queue_zones` runs them: a step that opens a zone
waits before it while the zone's closing group is expected to take the lot later than `OPEN_SHARE`
of the limit (asked every `gate_s`), and while a lot runs the step right before a closing step,
that step holds its place (a free tool is kept for it, or it ranks for the next one freed).

Host costs, in simulated seconds, are zero for the ideal model; the throughput benchmark feeds in
what it measured on the real run, so the same model says what those costs do to throughput."""
from __future__ import annotations

import heapq
import random
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import simpy

from line.dispatch_rank import Waiting, rank_key
from line.queue_zones import OPEN_SHARE

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Step:
    group: str
    job_s: float
    to_bottleneck: int | None = None
    limits: tuple[tuple[int, float], ...] = ()     # (index of the earlier step, seconds after its end)
    batch_key: str = ""                            # steps with the same key may share a job (a batch tool)
    batch_lots: int = 1                            # lots one job carries at most
    batch_wait_s: float = 0.0                      # how long a granted tool waits for more lots


@dataclass(frozen=True)
class HostDelays:
    """What the host adds around a job, in simulated seconds."""
    claim_to_start: float = 0.0    # tool leased, job not started yet (load route, set up, ledger)
    end_to_release: float = 0.0    # job over on the tool, lease still held (results, ledger, close)
    between_steps: float = 0.0     # the lot holds no tool: task end → next claim
    poll_s: float = 0.0            # a waiting lot looks for a free tool this often (0: told at once)
    gate_s: float = 60.0           # a step waiting before a queue-time zone asks again this often
    by_group: tuple[tuple[str, float, float], ...] = ()   # (group, claim→start, end→release) measured per group

    def around(self, group: str) -> tuple[float, float]:
        """The host's time before and after a job on a tool of `group`."""
        return next(((pre, post) for g, pre, post in self.by_group if g == group),
                    (self.claim_to_start, self.end_to_release))

    def scaled(self, factor: float) -> HostDelays:
        """Every delay times `factor` (the same host work at another clock speed)."""
        return HostDelays(self.claim_to_start * factor, self.end_to_release * factor, self.between_steps * factor,
                          self.poll_s * factor, self.gate_s * factor,
                          tuple((g, pre * factor, post * factor) for g, pre, post in self.by_group))


@dataclass
class ModelResult:
    wafers_per_h: float
    completed_lots: int
    utilisation: dict[str, float]                  # busy (job running) share per group, in the window
    held: dict[str, float]                         # leased share (job + host time around it)
    cycle_h: dict[str, float] = field(default_factory=dict)   # mean lot cycle time per product
    wait_s: float = 0.0                            # mean wait for a free tool per step (steps ending in the window)
    late_steps: int = 0                            # steps that started past a queue-time limit (held on the real line)
    work: dict[str, float] = field(default_factory=dict)   # busy share × how full its jobs were (of `batch_lots`)
    lots_per_job: dict[str, float] = field(default_factory=dict)   # batch groups: mean lots a job carried


class Job:
    """One job on a tool of a group: its leader runs it; the lots it took in wait for `done`."""

    def __init__(self, env: simpy.Environment, step: Step) -> None:
        self.step, self.lots = step, 1
        self.done, self.full = env.event(), env.event()

    def join(self) -> None:
        self.lots += 1
        if self.lots >= self.step.batch_lots and not self.full.triggered:
            self.full.succeed()


class Pool:
    """A tool group: any free tool; a freed tool goes to the best-ranked waiting step (the dispatch
    queue's rule), which takes it at once or, with `poll_s`, at its next poll (a random phase)."""

    def __init__(self, env: simpy.Environment, tools: int, rng: random.Random, poll_s: float) -> None:
        self.env, self.free, self.rng, self.poll_s = env, tools, rng, poll_s
        self.waiters: list[tuple[Waiting, simpy.Event | None, Step]] = []   # event None: a place held
        self.forming: dict[str, Job] = {}           # a granted batch job still waiting for lots, by recipe
        self.ends: dict[int, float] = {}            # each held tool's job: when it is expected to end
        self.kept: dict[str, float] = {}            # lot → due time of the place a free tool is kept for
        self.n = 0

    def reserve(self, lot: str, step: Step, due_s: float, limit_s: float) -> None:
        """The lot's next step ends a queue-time zone: a free tool is kept for it, or its place
        ranks for the next tool freed (`line.dispatch_queue.reserve`)."""
        self._lapse()
        if self.free > 0:
            self.free -= 1
            self.kept[lot] = due_s
            return
        self.n += 1
        self.waiters.append((Waiting(lot, (), 0, step.to_bottleneck, at(self.env.now), at(due_s), limit_s, self.n),
                             None, step))

    def _lapse(self) -> None:
        """Places past their due time hold nothing."""
        for lot, due in list(self.kept.items()):
            if due < self.env.now:
                del self.kept[lot]
                self.free += 1
        self.waiters = [w for w in self.waiters if w[1] is not None or (w[0].due_at or EPOCH) > at(self.env.now)]

    def expected_wait(self, lot: str, job_s: float, own_s: float, limit_s: float) -> float:
        """When this group would start a zone's closing step of `lot` after a step of `own_s` ends
        (`line.queue_zones.expected_wait_s`: tools' expected ends, lots ahead in a zone)."""
        now = self.env.now
        frees = [0.0] * (self.free + len(self.kept)) + [max(0.0, end - now) for end in self.ends.values()]
        deadline = at(now + own_s + limit_s)
        ahead = sum(1 for w, _, _ in self.waiters if w.holder != lot and w.due_at is not None and w.due_at < deadline)
        ahead += sum(1 for other, due in self.kept.items() if other != lot and at(due) < deadline)
        heapq.heapify(frees)
        for _ in range(ahead):
            heapq.heapreplace(frees, frees[0] + job_s)
        return max(0.0, frees[0] - own_s)

    def claim(self, step: Step, due_s: float | None, limit_s: float | None, lot: str = "") -> simpy.Event:
        """An event whose value is (the job, whether this step leads it)."""
        ev = self.env.event()
        self._lapse()
        self.waiters = [w for w in self.waiters if not (w[1] is None and w[0].holder == lot)]  # its place: replaced
        if lot in self.kept:
            del self.kept[lot]
            ev.succeed((self._lead(step), True))
        elif (job := self.forming.get(step.batch_key)) is not None and step.batch_key:
            job.join()                               # a tool held open for this recipe: in at once
            if job.full.triggered:
                self.forming.pop(step.batch_key)
            ev.succeed((job, False))
        elif self.free > 0:
            self.free -= 1
            ev.succeed((self._lead(step), True))
        else:
            self.n += 1
            w = Waiting(lot or str(self.n), (), 0, step.to_bottleneck, at(self.env.now),
                        at(due_s) if due_s is not None else None, limit_s, self.n)
            self.waiters.append((w, ev, step))
        return ev

    def _lead(self, step: Step) -> Job:
        """A job for the step granted a tool, with the best-ranked waiting steps of its recipe taken in."""
        job = Job(self.env, step)
        self.ends[id(job)] = self.env.now + step.batch_wait_s + step.job_s
        if step.batch_key and step.batch_lots > 1:
            now = at(self.env.now)
            same = sorted((w for w in self.waiters if w[1] is not None and w[2].batch_key == step.batch_key),
                          key=lambda w: rank_key(w[0], now))
            for w in same[:step.batch_lots - 1]:
                self.waiters.remove(w)
                job.join()
                cast(simpy.Event, w[1]).succeed((job, False))
            if job.lots < step.batch_lots and step.batch_wait_s > 0:
                self.forming[step.batch_key] = job
        return job

    def holds_open(self, job: Job) -> bool:
        """The job's tool waits for more lots of its recipe."""
        return job.lots < job.step.batch_lots and self.forming.get(job.step.batch_key) is job

    def close(self, job: Job) -> None:
        """The leader stops waiting for lots: the job starts with what it has."""
        if self.forming.get(job.step.batch_key) is job:
            self.forming.pop(job.step.batch_key)

    def release(self, job: Job) -> None:
        self.ends.pop(id(job), None)
        self._lapse()
        if not self.waiters:
            self.free += 1
            return
        now = at(self.env.now)
        best = min(range(len(self.waiters)), key=lambda i: rank_key(self.waiters[i][0], now))
        w, winner, step = self.waiters.pop(best)
        if winner is None:                           # a place held wins: the tool is kept for its lot
            self.kept[w.holder] = (cast(datetime, w.due_at) - EPOCH).total_seconds()
            return
        job = self._lead(step)
        delay = self.poll_s * self.rng.random() if self.poll_s > 0 else 0.0
        if delay <= 0:
            winner.succeed((job, True))
            return

        def notice():
            yield self.env.timeout(delay)
            winner.succeed((job, True))
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
    work = {g: 0.0 for g in groups}
    held = {g: 0.0 for g in groups}
    fills: dict[str, list[int]] = {}
    done: list[tuple[float, str, float]] = []       # (end time, product, cycle time)
    waits: list[float] = []
    release = {"n": 0}
    late = {"n": 0}

    def clip(t0: float, t1: float) -> float:
        return max(0.0, min(t1, horizon_s) - max(t0, warmup_s))

    def lot(product: str, name: str):
        start = env.now
        ended: list[float] = []
        route = routes[product]
        for k, step in enumerate(route):
            pool = pools[step.group]
            t_ask = env.now
            while _zone_closed(pools, route, k, name):
                yield env.timeout(host.gate_s)
            dues = [(ended[i] + limit, limit) for i, limit in step.limits if i < len(ended)]
            due, limit = min(dues) if dues else (None, None)
            job, leads = yield pool.claim(step, due, limit, name)
            t_claim = env.now
            if k + 1 < len(route) and route[k + 1].limits:   # the zone-closing step next holds its place
                nxt = route[k + 1]
                places = [((ended[i] if i < k else t_claim + step.job_s) + lim, lim) for i, lim in nxt.limits if i <= k]
                if places:
                    pools[nxt.group].reserve(name, nxt, *min(places))
            if due is not None and t_claim > due and warmup_s <= t_claim <= horizon_s:
                late["n"] += 1
            if leads:
                if pool.holds_open(job):
                    yield env.any_of([env.timeout(step.batch_wait_s), job.full])
                    pool.close(job)
                pre, post = host.around(step.group)
                yield env.timeout(pre)
                t_start = env.now
                pool.ends[id(job)] = t_start + step.job_s
                yield env.timeout(step.job_s)
                busy[step.group] += clip(t_start, env.now)
                work[step.group] += clip(t_start, env.now) * job.lots / step.batch_lots
                if step.batch_lots > 1 and warmup_s <= t_start <= horizon_s:
                    fills.setdefault(step.group, []).append(job.lots)
                yield env.timeout(post)
                held[step.group] += clip(t_claim, env.now)
                pool.release(job)
                job.done.succeed()
            else:
                yield job.done
            if warmup_s <= env.now <= horizon_s:
                waits.append(t_claim - t_ask)
            ended.append(env.now)
            yield env.timeout(host.between_steps)
        done.append((env.now, product, env.now - start))

    def feeder(slot: int):
        while True:
            product = order[release["n"] % len(order)]
            release["n"] += 1
            yield env.process(lot(product, f"{product}{release['n']}"))

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
        wait_s=sum(waits) / len(waits) if waits else 0.0, late_steps=late["n"],
        work={g: work[g] / (window * groups[g]) for g in groups},
        lots_per_job={g: statistics.fmean(f) for g, f in fills.items()})


def _zone_closed(pools: dict[str, Pool], route: list[Step], k: int, lot: str) -> bool:
    """Step `k` opens a queue-time zone whose closing step would start too late (the line's gate)."""
    for later in route[k + 1:]:
        for i, limit in later.limits:
            if i == k and pools[later.group].expected_wait(lot, later.job_s, route[k].job_s, limit) > OPEN_SHARE * limit:
                return True
    return False


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
        wait_s=statistics.fmean(r.wait_s for r in runs), late_steps=round(statistics.fmean(r.late_steps for r in runs)),
        work={g: statistics.fmean(r.work[g] for r in runs) for g in groups},
        lots_per_job={g: statistics.fmean(r.lots_per_job[g] for r in runs if g in r.lots_per_job)
                      for g in {g for r in runs for g in r.lots_per_job}})
    sd = {g: statistics.pstdev(r.work[g] for r in runs) for g in groups}
    return mean, sd


def route_steps(cfg: Any, routes: dict[str, Any], lot_size: int) -> tuple[dict[str, list[Step]], dict[str, int]]:
    """Each route as (tool group, job time) steps; the groups with their number of tools."""
    from bench.jobtimes import job_time_s
    from line.dispatch import candidates
    from line.plan import lots_per_job

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
            load[t0.kind] = load.get(t0.kind, 0.0) + job_time_s(t0.kind, rs.body, 25, t0.options) / len(tools) \
                / lots_per_job(t0, lot_size)
        neck = max(load, key=lambda k: load[k])
        kinds = [rs.step.tool_kind for rs, _, _ in rows]
        ids = [rs.step.id for rs, _, _ in rows]
        out[product] = [Step(key, job_s, next((j - i for j in range(i, len(kinds)) if kinds[j] == neck), None),
                             tuple((ids.index(q.since), q.max_h * 3600) for q in rs.step.queue_limits),
                             *batching(cfg, key, rs, lot_size))
                        for i, (rs, key, job_s) in enumerate(rows)]
    overlap = [(a, b) for a in groups for b in groups if a < b and set(a.split("+")) & set(b.split("+"))]
    if overlap:
        raise ValueError(f"tool groups overlap ({overlap[0]}): the bound needs a flow model, not a minimum")
    return out, groups


def batching(cfg: Any, group: str, rs: Any, lot_size: int) -> tuple[str, int, float]:
    """A step's batch identity on its group (the dispatcher's key: kind, recipe, body), how many
    lots one job carries and how long a granted tool waits for more — none on a group without a
    batch policy."""
    from drivers.jobs import body_hash
    from line.plan import lots_per_job

    policy = cfg.tool(group.split("+")[0]).batch
    if policy is None:
        return "", 1, 0.0
    return (f"{group}:{rs.recipe.ref}:{body_hash(rs.body)}", lots_per_job(cfg.tool(group.split("+")[0]), lot_size),
            policy.max_wait_min * 60)


def bottleneck_bound(routes: dict[str, list[Step]], groups: dict[str, int], lot_size: int,
                     order: str = "ABCD", batched: bool = True) -> tuple[float, dict[str, float]]:
    """Wafers per hour the slowest group allows for the product mix `order` (one lot of each in
    turn), and each group's capacity in wafers per hour of that mix. A batch step's job carries
    up to `batch_lots` lots, so each lot costs its group that share of the job (`batched=False`:
    a lot a job, the bound before batching)."""
    work = {g: 0.0 for g in groups}
    for product in order:
        for step in routes[product]:
            work[step.group] += step.job_s / (step.batch_lots if batched else 1)
    wafers = lot_size * len(order)
    capacity = {g: (wafers * groups[g] / (work[g] / 3600)) if work[g] else float("inf") for g in groups}
    return min(capacity.values()), capacity
