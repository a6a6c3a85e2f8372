"""The scale benchmark's figures and prose (bench/scale.py runs the points): rates, overheads,
memory, ledger writes, and the CPU a step costs the orchestrator, the Prefect server and the
database, with py-spy's breakdown of where it goes."""
from __future__ import annotations

from typing import Any

from bench.common import Section
from bench.scale import DUPLICATES, LOT_SIZE, PRODUCT, SPEED, STAGGER_S, WINDOW_S

GOAL_ORCHESTRATOR_MS = 15.0
GOAL_ALL_MS = 50.0
BASELINE = {("SQLite", "orchestrator"): 253.0, ("SQLite", "Prefect server"): 155.0,
            ("PostgreSQL", "orchestrator"): 332.0, ("PostgreSQL", "Prefect server"): 191.0}
"""CPU ms per step at 20 lots in the last full run before the work on it (bench/history.jsonl,
2026-11-28, commit baa7990: 28.3 s / 112 steps …); the database's own CPU was not measured then."""


def report(section: Section, points: dict[tuple[str, int], dict[str, Any]], capacity: dict[str, float], ntools: int,
           route: Any, lots: tuple[int, ...]) -> None:
    for (db, n), p in sorted(points.items(), key=lambda kv: (kv[0][0] != "SQLite", kv[0][1])):
        base = points.get((db, 1))
        bad = {k: v for k, v in p["status"].items() if k not in ("COMPLETE", "STOPPED")}
        section.add(f"{db}, {n} lot{'s' if n > 1 else ''}: steps finished per second", p["steps"] / p["wall"], "steps/s",
                    f"{n} × the 1-lot rate" if n > 1 else "", n * base["steps"] / base["wall"] if base and n > 1 else None,
                    note=f"lots spent {p['in_tasks'] * 100:.0f} % of their time inside step tasks (the rest: starting and "
                         "ending flow runs, the flow's own ledger calls, waiting on Prefect's API)")
        section.add(f"{db}, {n} lot{'s' if n > 1 else ''}: step overhead (median)", p["overhead_med"] * 1e3, "ms",
                    f"{db}, 1 lot" if n > 1 else "", base["overhead_med"] * 1e3 if base and n > 1 else None,
                    note=f"{p['steps']} steps, p90 {p['overhead_p90'] * 1e3:.0f} ms"
                         + (f"; lots not COMPLETE: {dict(bad)}" if bad else ""))
        section.add(f"{db}, {n} lot{'s' if n > 1 else ''}: orchestrator CPU", p["cpu"] / p["wall"] * 100, "% of a core",
                    note=f"{p['cpu'] / max(1, p['steps']) * 1e3:.0f} ms CPU per step; simulators {p['sim_cpu']:.1f} s, "
                         f"Prefect server {p['prefect_cpu']:.1f} s CPU over {p['wall']:.0f} s")
        cpu_figures(section, db, n, p, top=n == 20)
        section.add(f"{db}, {n} lot{'s' if n > 1 else ''}: peak memory (RSS)", p["peak_rss"] / 2**20, "MiB",
                    note=f"+{(p['peak_rss'] - p['rss0']) / 2**20:.0f} MiB during the run")
        section.add(f"{db}, {n} lot{'s' if n > 1 else ''}: ledger writes", p["writes"] / p["wall"], "rows/s",
                    f"{db} capacity (4 writers)", capacity.get(db),
                    note=f"{p['commits'] / p['wall']:.0f} commits/s; a step: {counted(p, 'statements')} statements, "
                         f"{counted(p, 'commits')} commits")
    section.text += [
        f"A {ntools}-tool line (deploy/lines/sim.yaml + twins of {', '.join(sorted(DUPLICATES))}), clock ×{SPEED:,.0f}, "
        f"lots of {LOT_SIZE} wafers of product {PRODUCT} ({len(route.steps)} steps). N lots are in process at once for a "
        f"window ({', '.join(f'N={n}: {w:g} s' for n, w in WINDOW_S.items())}): N threads "
        "each run `lot_flow` for one lot after another (as `bumpline demo` runs lots); figures are over the steps that "
        "ran inside the window, CPU and memory over the window (CPU per step = the orchestrator's CPU in the window "
        f"over the steps that finished in it). Lots start {STAGGER_S:g} s apart: created all at once, 20 flow runs "
        "overran Prefect's ephemeral server (its database pool timed out and it answered HTTP 500); a lot whose flow "
        "run the API refuses is retried and shows as FAILED in the notes. Capacity: rows per second that 4 threads writing one "
        "event per transaction through `Ledger.record_event` get into an empty ledger (2 s). The floor under the "
        "orchestrator's CPU per step while each step is a Prefect task: a bare Prefect task making the same driver "
        "calls (section 2, its orchestrator CPU per step at 1 lot). This machine's speed drifts between runs (the "
        "reference loop in the header): compare CPU figures within a run, or divided by it.",
        "", "| ledger | lots | steps | window s | step wall (median) | waiting for a tool | job on the tool | host overhead "
        "(median, p90) | lot time in step tasks | CPU s (orchestrator / simulators / Prefect server) | peak RSS MiB | writes/s | "
        "commits/s | a step's statements / commits |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (db, n), p in sorted(points.items(), key=lambda kv: (kv[0][0] != "SQLite", kv[0][1])):
        section.text.append(
            f"| {db} | {n} | {p['steps']} | {p['wall']:.1f} | {p['step_wall_med'] * 1e3:.0f} ms | {p['wait_med'] * 1e3:.0f} ms | "
            f"{p['tool_med'] * 1e3:.0f} ms | {p['overhead_med'] * 1e3:.0f} / {p['overhead_p90'] * 1e3:.0f} ms | "
            f"{p['in_tasks'] * 100:.0f} % | "
            f"{p['cpu']:.1f} / {p['sim_cpu']:.1f} / {p['prefect_cpu']:.1f} | {p['peak_rss'] / 2**20:.0f} | "
            f"{p['writes'] / p['wall']:.0f} | {p['commits'] / p['wall']:.0f} | {counted(p, 'statements')} / "
            f"{counted(p, 'commits')} |")
    obs = []
    for db in ("SQLite", "PostgreSQL"):
        one, many = points.get((db, 1)), points.get((db, max(lots)))
        if not one or not many or not many["steps"] or not one["steps"]:
            continue
        cps1, cpsn = one["cpu"] / one["steps"], many["cpu"] / many["steps"]
        w = many["wall"]
        obs.append(f"{db}: {many['n']} lots finished {many['steps'] / many['wall']:.1f} steps/s against "
                   f"{one['steps'] / one['wall']:.1f} for one lot ({many['steps'] / many['wall'] / (one['steps'] / one['wall']):.1f}× "
                   f"for {many['n']}× the lots), and spent {many['in_tasks'] * 100:.0f} % of their time inside step tasks "
                   f"(one lot: {one['in_tasks'] * 100:.0f} %). The host's overhead per step grows "
                   f"{many['overhead_med'] / one['overhead_med']:.1f}× ({one['overhead_med'] * 1e3:.0f} → "
                   f"{many['overhead_med'] * 1e3:.0f} ms) while its CPU per step goes {cps1 * 1e3:.0f} → "
                   f"{cpsn * 1e3:.0f} ms. In the {many['n']}-lot window the orchestrator used {many['cpu'] / w * 100:.0f} % "
                   f"of a core, the Prefect server {many['prefect_cpu'] / w * 100:.0f} %, the simulators "
                   f"{many['sim_cpu'] / w * 100:.0f} % — of 2 cores shared with other work. The rest of a step's host "
                   "time is waiting: for the one interpreter (GIL) every lot's flow, lease renewer and driver poll "
                   "runs in, for a core, and for the database. The ledger took "
                   f"{many['writes'] / w:.0f} rows/s"
                   + (f", {many['writes'] / w / capacity[db] * 100:.0f} % of what it accepts from 4 plain writers."
                      if db in capacity else "."))
    if obs:
        section.text += ["", "Observations:", ""] + [f"- {o}" for o in obs]
    section.data.update(points=points, capacity=capacity)
    for (db, n), p in sorted(points.items(), key=lambda kv: (kv[0][0] != "SQLite", kv[0][1])):
        if p.get("breakdown"):
            section.text += ["", *breakdown_text(db, n, p)]


def per_step(p: dict[str, Any]) -> dict[str, float | None]:
    """CPU ms per finished step: the orchestrator (this process, less the simulator thread), the
    Prefect server (its child process) and the database (PostgreSQL's processes: the Prefect
    server's database, and the ledger's when it is there; a SQLite ledger runs inside the
    orchestrator and is counted there)."""
    steps = max(1, p["steps"])
    out: dict[str, float | None] = {"orchestrator": p["cpu"] / steps * 1e3,
                                    "Prefect server": p["prefect_cpu"] / steps * 1e3,
                                    "database": p["pg_cpu"] / steps * 1e3 if p.get("pg_cpu") is not None else None}
    out["all"] = sum(v for v in out.values() if v is not None)
    return out


def cpu_figures(section: Section, db: str, n: int, p: dict[str, Any], top: bool) -> None:
    cpu = per_step(p)
    lots = f"{n} lot{'s' if n > 1 else ''}"
    section.add(f"{db}, {lots}: orchestrator CPU per step", cpu["orchestrator"], "ms",
                "goal" if top else "", GOAL_ORCHESTRATOR_MS if top else None, "≤ 1×" if top else "",
                note=f"{p['cpu'] / p['wall'] * 100:.0f} % of a core"
                     + (f"; {BASELINE[(db, 'orchestrator')]:.0f} ms in the recorded baseline" if top else ""))
    section.add(f"{db}, {lots}: Prefect server CPU per step", cpu["Prefect server"], "ms",
                note=f"{BASELINE[(db, 'Prefect server')]:.0f} ms in the recorded baseline" if top else "")
    if cpu["database"] is not None:
        section.add(f"{db}, {lots}: database CPU per step", cpu["database"], "ms",
                    note="every PostgreSQL process on the machine: Prefect's database"
                         + (" and the ledger's" if db != "SQLite" else "") + " (another user's queries would count too)")
    section.add(f"{db}, {lots}: all CPU per step", cpu["all"], "ms",
                "goal" if top else "", GOAL_ALL_MS if top else None, "≤ 1×" if top else "",
                note="orchestrator + Prefect server" + (" + PostgreSQL" if cpu["database"] is not None else "")
                     + (" (the SQLite ledger inside the orchestrator)" if db == "SQLite" else ""))


def breakdown_text(db: str, n: int, p: dict[str, Any]) -> list[str]:
    """Where the orchestrator's and the Prefect server's CPU went (py-spy, this point's window)."""
    cpu = per_step(p)
    lines = [f"**Where a step's CPU goes — {db}, {n} lots** (py-spy samples of the thread holding each "
             "process's interpreter lock over the window: Python work, not threads asleep; "
             "ms per step = the share × the process's measured CPU per step; the simulator thread is left out "
             "of the orchestrator):", "", "| process | part | share | ms per step |", "|---|---|---:|---:|"]
    for name, result in p["breakdown"].items():
        if result.error:
            lines.append(f"| {name} | (no samples: {result.error}) | | |")
            continue
        total_ms = cpu[name] or 0.0
        for part, share in result.shares(exclude=("simulators", "benchmark harness"))[:8]:
            lines.append(f"| {name} | {part} | {share * 100:.0f} % | {share * total_ms:.1f} |")
    return lines


def counted(p: dict[str, Any], what: str) -> str:
    """The ledger's statements or commits in the window over the steps that finished in it."""
    return f"{p[what] / p['steps']:.0f}" if p.get(what) is not None and p["steps"] else "–"
