"""3. Line throughput: the real line kept saturated with lots of products A–D, in simulated time,
against the bottleneck bound (from the line config and the route's job times) and against a
SimPy model of the same line, lots and dispatch rule (`bench.desmodel`).

Saturation is CONWIP: `WIP` lots in process at once, each finished lot replaced at once by the next
product in A, B, C, D order (one thread per token, each running `lot_flow` as the demo does). The
clock runs at the line config's own simulation speed. Figures are taken over a window that starts
after a warm-up, in simulated time, from the simulators' job logs (when each job really ran on
its tool) and the ledger's lease events (when the host held each tool). Throughput is counted at
the bottleneck: its busy share × the bound is the rate at which it turns out wafers of this mix —
the line's output in steady state, without the lumpiness of counting whole lots in a short window
(lots completed in the window are reported beside it)."""
from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC
from typing import Any

from bench.common import (
    RECIPES,
    SIM_LINE,
    TOP_SPEED,
    Section,
    clear_alarms,
    instrumented,
    load_routes,
    median,
    new_id,
    scratch_dir,
    sim_line,
    start_wafers,
    warm_prefect,
)
from bench.desmodel import ModelResult, bottleneck_bound, replicate, route_steps
from bench.real_run import Interval, RealRun, host_delays, share

LOT_SIZE = 5
WIP = 32
"""lots in process: the fewest with which the SimPy model of the rule keeps the bottleneck ≥ 99 % busy
in the window (`WIP_SWEEP`, reported with each run: 24 lots left it starved 3 % of the time)"""
WIP_SWEEP = (16, 24, 32, 40)
SPEED = 600.0              # deploy/lines/sim.yaml `simulation.speed`
HORIZON_H = 40.0
WARMUP_H = 8.0
QUICK = dict(wip=8, horizon_h=12.0, warmup_h=3.0)


class Clock:
    """Wall (time.time) ↔ simulated seconds while the clock runs at one speed."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.wall0, self.sim0, self.speed = time.time(), sim.clock.now(), sim.clock.speed

    def to_sim(self, wall: float) -> float:
        return self.sim0 + (wall - self.wall0) * self.speed


def run_real(wip: int, horizon_h: float, routes: dict[str, Any], groups_of: dict[str, str],
             computed: dict[str, float], batch_lots: dict[str, int]) -> RealRun:
    """CONWIP on the simulated line at SPEED until the horizon, then drain at top speed."""
    from sqlalchemy import select

    import line.lot_flow as lf
    from line.ledger import Ledger
    from line.ledger import models as m

    warm_prefect()
    db_url = f"sqlite:///{scratch_dir() / 'ledger.db'}"
    Ledger(db_url).dispose()
    out = RealRun()
    horizon = horizon_h * 3600
    order = itertools.count()
    lock = threading.Lock()
    with sim_line(speed=SPEED) as (sim, cfg):
        clear_alarms(sim)
        clock = Clock(sim)
        sim0 = clock.sim0

        def token() -> None:
            while sim.clock.now() - sim0 < horizon:
                with lock:
                    product = "ABCD"[next(order) % 4]
                route = routes[product]
                lot = new_id(product)
                start_wafers(sim, route, lot, LOT_SIZE)
                try:
                    res = lf.drive_lot(lot, str(route.path), LOT_SIZE, sim.line_file, str(RECIPES), db_url)
                    status = res["status"]
                except Exception as exc:  # noqa: BLE001 - a failed lot is a figure, not a crash
                    status = f"FAILED {type(exc).__name__}"
                out.lots_done.append((sim.clock.now() - sim0, product, status))
                if status != "COMPLETE":
                    return          # a held lot keeps its place in the line (it waits for an operator)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=token, name=f"conwip-{i}", daemon=True) for i in range(wip)]
        stop = threading.Event()
        with instrumented(out.steps, stop):
            for t in threads:
                t.start()
                time.sleep(0.05)
            while sim.clock.now() - sim0 < horizon:
                time.sleep(0.2)
            out.wall_s = time.perf_counter() - t0
            stop.set()                              # the window is over: lots stop after their current step,
            sim.clock.set_speed(TOP_SPEED)          # which finishes fast
            t1 = time.perf_counter()
            for t in threads:
                t.join(timeout=max(1.0, 240 - (time.perf_counter() - t1)))
            out.drain_s = time.perf_counter() - t1
        for tool_id, tool in sim.tools.items():
            for job in tool.jobs.values():
                if job.started_s is None or job.started_s - sim0 > horizon:
                    continue
                end = job.ended_s if job.ended_s is not None else sim.clock.now()
                step = job.job_id.split(".")[1]
                lots = tuple(dict.fromkeys(w.rsplit(".", 1)[0] for w in job.wafers))
                weight = len(lots) / batch_lots.get(groups_of[tool_id], 1)   # a batch job: how full it was
                if job.ended_s is not None and job.ended_s - sim0 <= horizon and step in computed:
                    out.job_check.append((job.ended_s - job.started_s) / computed[step])
                    weight /= out.job_check[-1]
                out.jobs.append(Interval(groups_of[tool_id], tool_id, job.started_s - sim0, end - sim0, weight,
                                         job.job_id, lots))
        ledger = Ledger(db_url)
        with ledger.session() as s:
            rows = s.execute(select(m.Event.entity_id, m.Event.trigger, m.Event.at, m.Event.data).where(
                m.Event.entity == "tool", m.Event.trigger.in_(("acquire", "release"))).order_by(m.Event.id)).all()
        ledger.dispose()
        held: dict[tuple[str, str], float] = {}
        for tool_id, trig, at, data in rows:
            t = clock.to_sim(at.replace(tzinfo=UTC).timestamp()) - sim0
            key = (tool_id, (data or {}).get("holder", ""))
            if trig == "acquire":
                held[key] = t
            elif key in held:
                start = held.pop(key)
                if start <= horizon:
                    out.leases.append(Interval(groups_of[tool_id], tool_id, start, t))
        for (tool_id, _), start in held.items():
            if start <= horizon:
                out.leases.append(Interval(groups_of[tool_id], tool_id, start, horizon))
        for rec in out.steps:
            for k in ("start", "end", "claim_from", "claimed"):
                rec[k] = clock.to_sim(rec[k]) - sim0
    return out


def run(section: Section, quick: bool = False) -> None:
    from line.config import load_line

    wip, horizon_h, warmup_h = (QUICK["wip"], QUICK["horizon_h"], QUICK["warmup_h"]) if quick else (WIP, HORIZON_H, WARMUP_H)
    cfg = load_line(str(SIM_LINE))
    routes = load_routes("ABCD")
    steps, groups = route_steps(cfg, routes, LOT_SIZE)
    groups_of = {tid: g for g in groups for tid in g.split("+")}
    computed = {rs.step.id: s.job_s for k, r in routes.items() for rs, s in zip(r.steps, steps[k], strict=False)}
    bound, capacity = bottleneck_bound(steps, groups, LOT_SIZE)
    unbatched, _ = bottleneck_bound(steps, groups, LOT_SIZE, batched=False)
    neck = min(capacity, key=capacity.get)
    batch_lots = {s.group: s.batch_lots for r in steps.values() for s in r if s.batch_lots > 1}
    H, U = horizon_h * 3600, warmup_h * 3600

    real = run_real(wip, horizon_h, routes, groups_of, computed, batch_lots)
    busy, leased = share(real.jobs, groups, U, H), share(real.leases, groups, U, H)
    work = share(real.jobs, groups, U, H, weighted=True)
    done = [d for d in real.lots_done if U <= d[0] <= H and d[2] == "COMPLETE"]
    real_wph = work[neck] * bound
    host, budget = host_delays(real, U, H, SPEED, frozenset(batch_lots))
    ideal, sd_ideal = replicate(steps, groups, LOT_SIZE, wip, H, U)
    with_host, sd_host = replicate(steps, groups, LOT_SIZE, wip, H, U, host)
    realtime, _ = replicate(steps, groups, LOT_SIZE, wip, H, U, host.scaled(1 / SPEED))
    steady, _ = replicate(steps, groups, LOT_SIZE, wip, 1000 * 3600, 100 * 3600, reps=3)
    # how much WIP the rule needs to keep the bottleneck busy in this window, host time aside
    by_wip = {n: replicate(steps, groups, LOT_SIZE, n, H, U, reps=5)[0].utilisation[neck] for n in WIP_SWEEP}

    def wph(r: ModelResult) -> float:
        return r.work[neck] * bound

    def fill(jobs: list[Interval], group: str) -> float:
        inside = [len(j.lots) for j in jobs if j.group == group and U <= j.start <= H]
        return sum(inside) / len(inside) if inside else float("nan")

    label = f"{wip} lots WIP, {horizon_h:g} h (window {warmup_h:g}–{horizon_h:g} h)"
    section.add("bottleneck bound", bound, "wafers/h", "bound, a lot a job", unbatched,
                note=f"slowest group {neck}: {len(neck.split('+'))} tools"
                     + (f", {batch_lots[neck]} lots a job" if neck in batch_lots else ""))
    section.add("real line, saturated", real_wph, "wafers/h", "bottleneck bound", bound, goal="≥ 99%",
                note=f"{label}; bottleneck busy {busy[neck] * 100:.1f} %, work done {work[neck] * 100:.1f} %")
    section.add("real line, saturated", real_wph, "wafers/h", "SimPy, same line/lots/rule", wph(ideal),
                note=f"SimPy bottleneck busy {ideal.utilisation[neck] * 100:.1f} ± {sd_ideal[neck] * 100:.1f} % "
                     f"(mean ± sd of 20 runs)")
    section.add("real line, saturated", real_wph, "wafers/h", "SimPy + host delays measured", wph(with_host),
                note=f"busy {with_host.utilisation[neck] * 100:.1f} ± {sd_host[neck] * 100:.1f} %; "
                     f"claim→start {host.claim_to_start:.0f} s (bottleneck {host.around(neck)[0]:.0f}), "
                     f"end→release {host.end_to_release:.0f} s (bottleneck {host.around(neck)[1]:.0f}), "
                     f"between steps {host.between_steps:.0f} s, poll {host.poll_s:.0f} s (simulated)")
    section.add("SimPy, same experiment", wph(ideal), "wafers/h", "bottleneck bound", bound)
    section.add("SimPy + host delays at ×1 (real time)", wph(realtime), "wafers/h", "bottleneck bound", bound)
    section.add("SimPy steady state (1000 h)", wph(steady), "wafers/h", "bottleneck bound", bound,
                note="the dispatch rule's own ceiling at this WIP")
    section.add("SimPy, same window, by WIP", by_wip[wip] * 100 if wip in by_wip else float("nan"), "% busy",
                note="bottleneck busy with " + ", ".join(f"{n} lots {v * 100:.1f} %" for n, v in by_wip.items())
                     + f" in process (this run: {wip})")
    section.add("real line: lots completed in window", len(done) * LOT_SIZE / ((H - U) / 3600), "wafers/h",
                "SimPy, same", ideal.wafers_per_h, note=f"{len(done)} lots; whole lots in a short window: lumpy")
    for g in sorted(batch_lots):
        section.add(f"lots per batch job, {g}", fill(real.jobs, g), "lots", "SimPy, same",
                    ideal.lots_per_job.get(g, float("nan")), note=f"at most {batch_lots[g]} ({LOT_SIZE}-wafer lots)")
    section.add("lots held in the window", float(sum(1 for d in real.lots_done if d[2] == "ON_HOLD" and d[0] <= H)),
                "lots", "SimPy: steps started past a queue-time limit", float(ideal.late_steps),
                note="real: lots that ended on hold before the horizon (QUEUE_TIME or any other reason)")
    section.add("job time on the tools vs computed", median(real.job_check) if real.job_check else float("nan"), "×",
                note=f"median of {len(real.job_check)} jobs (tick granularity ×{SPEED:g})")
    limits = [q.max_h for r in routes.values() for rs in r.steps for q in rs.step.queue_limits]
    if limits and budget["steps"]:
        section.add("host time per step (simulated)", (budget["held_idle"] + budget["between"]) / 60, "min",
                    "1 % of the shortest queue-time limit", min(limits) * 60 * 0.01, goal="≤ 1×",
                    note=f"tool leased but idle {budget['held_idle'] / 60:.1f} + between steps "
                         f"{budget['between'] / 60:.1f} simulated min at ×{SPEED:g}; shortest limit {min(limits):g} h")
    bad = [d for d in real.lots_done if d[2] != "COMPLETE" and d[0] <= H]
    section.text += [
        f"Line `deploy/lines/sim.yaml` ({len(cfg.tools)} tools, {sum(groups.values())} used by the routes) at its own clock ×{SPEED:g}; lots of "
        f"{LOT_SIZE} wafers; CONWIP with {wip} lots in process (A, B, C, D in turn); {horizon_h:g} simulated hours, "
        f"figures over {warmup_h:g}–{horizon_h:g} h. Wall time {real.wall_s:.0f} s, then {real.drain_s:.0f} s "
        f"to let the steps in flight finish at ×{TOP_SPEED:,.0f} (those lots then stop; not measured). Lots completed "
        f"in the horizon: {sum(1 for d in real.lots_done if d[0] <= H and d[2] == 'COMPLETE')}"
        f"{'; ended otherwise: ' + ', '.join(sorted({d[2] for d in bad})) if bad else ''}.",
        "",
        "Bound: for one lot of each product, the work each tool group must do (sum of its steps' job times, "
        "`bench/jobtimes.py`, from recipe bodies and the simulators' physics and handling times) over its number "
        "of tools; the slowest group caps the line. A batch tool's job carries up to its policy's wafers (the "
        f"sim line's ovens and wet benches: 25, so {25 // LOT_SIZE} lots of {LOT_SIZE}) of one recipe, so each lot "
        f"costs its group that share of the job; the bound with a lot a job was {unbatched:.2f} wafers/h. 'Work "
        "done' counts a batch job by how full it ran: a half-full oven job is half the capacity used.",
        "", "| tool group | tools | capacity, wafers/h | real: job running | real: work done | real: held by host | "
        "SimPy: busy | SimPy + host: busy | host: lease → start, end → release (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for g in sorted(groups, key=lambda g: capacity[g]):
        pre, post = host.around(g)
        section.text.append(f"| {g} | {groups[g]} | {capacity[g]:.2f} | {busy[g] * 100:.1f} % | {work[g] * 100:.1f} % | "
                            f"{leased[g] * 100:.1f} % | {ideal.utilisation[g] * 100:.1f} % | "
                            f"{with_host.utilisation[g] * 100:.1f} % | {pre:.0f}, {post:.0f}"
                            f"{' (start: other groups)' if g in batch_lots else ''} |")
    section.text += [
        "", "Utilisation = share of the window the group's tools ran a job (real: simulators' job logs) or were leased "
        "by a lot (real: the ledger's lease events); 'held by host' − 'job running' is time a tool sat leased but idle "
        "while the host set up, recorded, or released it. 'Work done' counts each job at its computed length: the "
        "simulators share this process with the orchestrator, and when it keeps the CPU busy their clock ticks "
        f"come late and jobs run long in simulated time (median job {median(real.job_check) if real.job_check else 0:.3f}× "
        "its computed length) — time the tool was busy but produced nothing more.",
        "", f"Host delays measured on the real run (means over the window, simulated seconds at ×{SPEED:g}; wall = "
        f"/{SPEED:g}): lease → job start {host.claim_to_start:.0f}, job end → lease release {host.end_to_release:.0f}, "
        f"task start → asking for a tool + flow loop {host.between_steps:.0f}; a waiting step is woken at once when a "
        "tool is released in its process (the lots here share one).",
        "", f"An average step in the window ({budget['steps']:.0f} steps on the real line), simulated minutes:", "",
        "| | job on the tool | waiting for a free tool | tool held, job not running | between steps (lot holds no tool) |",
        "|---|---:|---:|---:|---:|",
        f"| real line | {budget['job'] / 60:.0f} | {budget['wait'] / 60:.0f} | {budget['held_idle'] / 60:.0f} | "
        f"{budget['between'] / 60:.0f} |",
        f"| SimPy + host delays | as computed | {with_host.wait_s / 60:.0f} | "
        f"{(host.claim_to_start + host.end_to_release) / 60:.0f} | {host.between_steps / 60:.0f} |",
        f"| SimPy | as computed | {ideal.wait_s / 60:.0f} | 0 | 0 |", "",
        "Cycle time per product (h), SimPy same experiment: "
        + ", ".join(f"{p} {v:.1f}" for p, v in sorted(ideal.cycle_h.items()))]
    if section.figures[1].needs_why:
        pct = {k: v / bound * 100 for k, v in (("ideal", wph(ideal)), ("host", wph(with_host)), ("real", real_wph),
                                                ("realtime", wph(realtime)), ("steady", wph(steady)))}
        jc = median(real.job_check) if real.job_check else 1.0
        host_min = (budget["held_idle"] + budget["between"]) / 60
        step_min = host_min + budget["job"] / 60 + budget["wait"] / 60
        sd = sd_host[neck] * 100
        rule_loss, host_loss, rest = 100 - pct["ideal"], pct["ideal"] - pct["host"], pct["host"] - pct["real"]
        section.why.append(
            f"- **Saturated line**: {real_wph:.2f} wafers/h, {pct['real']:.0f} % of the bound {bound:.2f} (bottleneck "
            f"{neck}): {100 - pct['real']:.0f} points short. The SimPy model of the same line, lots, rule and window "
            f"splits them. **The dispatch rule in a {horizon_h - warmup_h:g} h window: {rule_loss:.0f} points** — the "
            f"model without any host time reaches {pct['ideal']:.0f} % here and {pct['steady']:.0f} % in steady state "
            "(1000 h): the dispatch queue feeds the steps nearest the bottleneck first and fills batch jobs with "
            "the lots of one recipe that wait, but a job runs part-full when fewer wait "
            + ", ".join(f"({g}: {fill(real.jobs, g):.1f} lots a job real, {ideal.lots_per_job.get(g, 0):.1f} SimPy)"
                        for g in sorted(batch_lots)) + ". "
            f"**Host time at ×{SPEED:g}: {host_loss:.0f} points** in the model: an average step spent "
            f"{budget['job'] / 60:.0f} simulated minutes in its job, {budget['wait'] / 60:.0f} waiting for a tool and "
            f"{host_min:.0f} on the host ({budget['held_idle'] / 60:.0f} with its tool leased but idle, "
            f"{budget['between'] / 60:.0f} between steps), {host_min / step_min * 100:.0f} % of a lot's time — one wall "
            f"second of host work is {SPEED / 60:g} simulated minutes here; in real time it would cost nothing "
            f"({pct['realtime']:.0f} %). **The real line against the model with host delays: {-rest:+.0f} points** "
            + (f"— within one run's spread (±{sd:.0f})." if abs(rest) <= 2 * sd else
               "— beyond one run's spread: the means the model is fed hide bursts when several lots finish a step "
               "together and queue for the one interpreter"
               + (f", and the in-process simulators ran jobs {(jc - 1) * 100:.0f} % long." if jc > 1.005 else ".")
               if rest > 0 else
               f"— above the model by more than its spread (±{sd:.0f}): one run against the mean of 20; the real "
               "line's tool choice within a group (the least-used free tool first) and its lots' own timing are not "
               "the model's.")
            + (" So what is lost is mostly the rule and the window, not the host: a longer window (the rule "
               f"reaches {pct['steady']:.0f} % in steady state) or fuller batch jobs (more lots of one recipe in "
               "process, or a longer wait for them) would raise it."
               if rule_loss >= host_loss + max(0.0, rest) else
               " So the host's time, multiplied by the simulation clock, costs the most here: the step overhead of "
               f"goal 2 and the {wip} lots sharing one interpreter (see Scale)."))
    section.data.update(bound=bound, neck=neck, busy=busy, work=work, ideal=ideal, host=host, with_host=with_host,
                        real_wph=real_wph, steady=wph(steady), ideal_wph=wph(ideal), host_wph=wph(with_host),
                        realtime_wph=wph(realtime), speed=SPEED)
