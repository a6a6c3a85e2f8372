"""What the real line's run recorded, in simulated seconds — when each job ran on its tool and when
the host held each tool — and what that says about the host: the time it added around the jobs
(`host_delays`, the SimPy model's input) and where an average step's time went."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bench.desmodel import HostDelays
from line.dispatch_queue import GATE_S


@dataclass
class Interval:
    group: str
    tool: str
    start: float
    end: float
    weight: float = 1.0      # computed / measured job time (a job the starved simulator ran long counts less) × how full a batch job was
    job: str = ""
    lots: tuple[str, ...] = ()   # the lots whose wafers the job carried


@dataclass
class RealRun:
    jobs: list[Interval] = field(default_factory=list)           # job running on its tool (sim s)
    leases: list[Interval] = field(default_factory=list)         # tool held by the host (sim s)
    lots_done: list[tuple[float, str, str]] = field(default_factory=list)   # (sim end, product, status)
    steps: list[dict[str, Any]] = field(default_factory=list)    # per task call, in sim seconds
    job_check: list[float] = field(default_factory=list)         # measured / computed job time
    wall_s: float = 0.0
    drain_s: float = 0.0


def share(intervals: list[Interval], groups: dict[str, int], t0: float, t1: float,
          weighted: bool = False) -> dict[str, float]:
    acc: dict[str, float] = defaultdict(float)
    for iv in intervals:
        acc[iv.group] += max(0.0, min(iv.end, t1) - max(iv.start, t0)) * (iv.weight if weighted else 1.0)
    return {g: acc[g] / ((t1 - t0) * n) for g, n in groups.items()}


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def host_delays(run: RealRun, t0: float, t1: float, speed: float, batch_groups: frozenset[str] = frozenset()
                ) -> tuple[HostDelays, dict[str, float]]:
    """What the host added around the jobs of the real run, in simulated seconds — means, since
    throughput goes with the mean, each tool group's own — and where an average step's time went
    (steps ending in [t0, t1]). On a batch tool, lease → start also holds the leader's wait for more
    lots, which the model runs itself: there the other groups' mean stands in for the host's part."""
    by_tool: dict[str, list[Interval]] = defaultdict(list)
    for j in run.jobs:
        by_tool[j.tool].append(j)
    pre_by: dict[str, list[float]] = defaultdict(list)
    post_by: dict[str, list[float]] = defaultdict(list)
    for lease in run.leases:
        inside = [j for j in by_tool[lease.tool] if lease.start - 1 <= j.start <= lease.end]
        if inside and t0 <= lease.end <= t1:
            j = min(inside, key=lambda j: j.start)
            pre_by[lease.group].append(j.start - lease.start)
            post_by[lease.group].append(max(0.0, lease.end - j.end))
    pre = [x for g, xs in pre_by.items() if g not in batch_groups for x in xs]
    post = [x for g, xs in post_by.items() for x in xs]
    per_group = tuple((g, mean(pre_by[g]) if g not in batch_groups else mean(pre), mean(post_by[g])) for g in pre_by)
    jobs: dict[str, list[Interval]] = defaultdict(list)      # a batch job: each lot's; a lot may run a step twice
    for j in run.jobs:
        for lot in j.lots:
            jobs[f"{lot}.{j.job.split('.')[1]}"].append(j)
    by_lot: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in run.steps:
        by_lot[r["lot"]].append(r)
    # a lot taken into another's batch job waits, like its leader, until the leader stops gathering
    # lots (its claim returns then): that wait is the batch forming (dispatch), not the host's time
    formed: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in run.steps:
        formed[(r["lot"], r["step"])].append(r["claimed"])
    before, gaps, waits, held_idle, job_s = [], [], [], [], []
    for recs in by_lot.values():
        recs.sort(key=lambda r: r["start"])
        for i, r in enumerate(recs):
            if not t0 <= r["end"] <= t1:
                continue
            # the job this task ran or rode in: the last of its lot's step that started inside the task
            j = max((j for j in jobs[f"{r['lot']}.{r['step']}"] if r["start"] <= j.start <= r["end"]),
                    key=lambda j: j.start, default=None)
            claimed = r["claimed"]
            if j is not None and "+" in j.job:     # the leader's claim that formed this job: its last before the start
                leader = j.job.split("+")[0].rsplit(".", 2)[0]
                claimed = max([claimed, *(c for c in formed[(leader, r["step"])] if c <= j.start)])
            before.append(r["claim_from"] - r["start"])              # task start → asking for a tool
            waits.append(claimed - r["claim_from"])                  # waiting for a free tool (and its batch)
            run_s = j.end - j.start if j else 0.0
            job_s.append(run_s)
            held_idle.append(r["end"] - claimed - run_s)             # in the task, tool held, job not running
            if i + 1 < len(recs):
                gaps.append(recs[i + 1]["start"] - r["end"])         # the flow loop between two tasks
    delays = HostDelays(claim_to_start=mean(pre), end_to_release=mean(post),
                        between_steps=mean(before) + mean(gaps), poll_s=0.0,   # lots in one process: woken at a release
                        gate_s=GATE_S * speed, by_group=per_group)              # a zone's gate is asked every GATE_S wall s
    budget = {"job": mean(job_s), "wait": mean(waits), "held_idle": mean(held_idle),
              "between": mean(before) + mean(gaps), "steps": float(len(job_s))}
    return delays, budget
