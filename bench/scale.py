"""4. Scale: 1, 5 and 20 lots at once on a line of 30 tools, with the ledger on SQLite and on
PostgreSQL: the host's overhead per step, the orchestrator's CPU and peak memory, and the ledger
writes per second it makes — next to what the ledger alone can take.

The line is deploy/lines/sim.yaml with 13 tools duplicated under new ids (a temporary file).
Every lot is product C (7 steps, every kind but the plater), the shortest route. N lots are kept
in process for a fixed window (a thread per lot slot starts the next lot when one ends), so the
figures are rates at a steady N and 20 lots fit the time budget. A step's overhead is its task's wall time less the
time it waited for a tool lease and less the time the job ran on the tool (simulator job log):
what the host itself spends. CPU is this process's, less the simulator thread's (the simulators
run in a thread here; a real line's tools are elsewhere); the Prefect server is a child process
and reported apart."""
from __future__ import annotations

import copy
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psutil

from bench import prefect_server
from bench.common import (
    RECIPES,
    SIM_LINE,
    Monitor,
    Section,
    clear_alarms,
    instrumented,
    load_routes,
    median,
    new_id,
    percentile,
    pg_database,
    scratch_dir,
    sim_line,
    start_wafers,
    warm_prefect,
)
from bench.cpu_profile import Sampler

SPEED = 2_500.0          # the stencil paste's 4 h open time runs from JOB:CRE; under 20 lots the host took
                         # over 2.8 s from create to start (PASTE_EXPIRED at ×5000): see common.TOP_SPEED
LOTS = (1, 5, 20)
WINDOW_S = {1: 10.0, 5: 20.0, 20: 30.0}
STAGGER_S = 0.25         # lots arrive a quarter second apart: 20 flow runs created at once overran
                         # Prefect's ephemeral server (its database pool timed out, HTTP 500)
LOT_SIZE = 5
PRODUCT = "C"
DUPLICATES = {"PVD01": "PVD03", "PVD02": "PVD04", "LITHO01": "LITHO03", "LITHO02": "LITHO04", "EP01": "EP05",
              "EP03": "EP06", "SP01": "SP03", "WET01": "WET03", "WET02": "WET04", "RFL01": "RFL02",
              "CURE01": "CURE03", "CURE02": "CURE04", "MET01": "MET03"}


def thirty_tool_line(folder: Path) -> Path:
    """deploy/lines/sim.yaml plus a twin of 13 of its tools (new ids and ports)."""
    import yaml

    doc = yaml.safe_load(SIM_LINE.read_text())
    port = 16100
    for tool in list(doc["tools"]):
        if tool["id"] not in DUPLICATES:
            continue
        twin = copy.deepcopy(tool)
        twin["id"] = DUPLICATES[tool["id"]]
        port += 1
        twin["address"] = twin["address"].rsplit(":", 1)[0] + f":{port}" + ("/1" if "modbus" in twin["address"] else "")
        if twin["address"].startswith("TCPIP"):
            twin["address"] = f"TCPIP0::127.0.0.1::{port}::SOCKET"
        for name in twin.get("endpoints", {}):
            port += 1
            twin["endpoints"][name] = f"TCPIP0::127.0.0.1::{port}::SOCKET"
        doc["tools"].append(twin)
    doc["metadata"]["name"] = "bench-30-tools"
    path = folder / "line-30.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


class WriteCounter:
    """Rows written, statements and commits SQLAlchemy sends to one database URL (all engines).
    Statements and commits per step are the ledger's work counted, not timed: they hold still where
    CPU per step moves ±20 % between runs of the same code."""

    def __init__(self, url: str) -> None:
        self.url, self.writes, self.commits, self.statements = url, 0, 0, 0

    def _stmt(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if conn.engine.url.render_as_string(hide_password=False) != self.url:
            return
        self.statements += 1
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.writes += len(parameters) if executemany and parameters else 1

    def _commit(self, conn: Any) -> None:
        if conn.engine.url.render_as_string(hide_password=False) == self.url:
            self.commits += 1

    @contextmanager
    def counting(self) -> Iterator[WriteCounter]:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self._stmt)
        event.listen(Engine, "commit", self._commit)
        try:
            yield self
        finally:
            event.remove(Engine, "before_cursor_execute", self._stmt)
            event.remove(Engine, "commit", self._commit)


def run_point(sim: Any, line_path: Path, route: Any, n: int, db_url: str, window_s: float,
              profile: bool = False) -> dict[str, Any]:
    """n lots in process at once for `window_s` (each thread starts its next lot when one ends);
    the figures of the steps that ran inside the window. `profile`: py-spy samples the orchestrator
    and the Prefect server over the window, for the breakdown of their CPU."""
    import line.lot_flow as lf
    from line.ledger import Ledger

    Ledger(db_url).dispose()                          # schema first, outside the figures
    clear_alarms(sim)
    records: list[dict[str, Any]] = []
    status: list[str] = []
    stop = threading.Event()

    def token(slot: int) -> None:
        time.sleep(slot * STAGGER_S)
        retries = 0
        while not stop.is_set():
            lot = new_id(f"S{n}")
            start_wafers(sim, route, lot, LOT_SIZE)
            try:
                res = lf.drive_lot(lot, str(route.path), LOT_SIZE, sim.line_file, str(RECIPES), db_url)
                reason = str(res.get("reason", ""))
                status.append("STOPPED" if "benchmark window" in reason else
                              res["status"] if res["status"] == "COMPLETE" else f"{res['status']}: {hold_of(reason)}")
            except Exception as exc:  # noqa: BLE001 - reported as a figure
                status.append(f"FAILED {type(exc).__name__}: {str(exc)[:90]}")
                if "Prefect" in type(exc).__name__ and retries < 3:   # the API refused the flow run: try again
                    retries += 1
                    time.sleep(1.0)
                    continue
            if status[-1] not in ("COMPLETE", "STOPPED") and not stop.is_set():
                return      # a held lot keeps its slot (it waits for an operator); counted in the figures

    counter = WriteCounter(db_url)
    threads = [threading.Thread(target=token, args=(i,), name=f"scale-{i}", daemon=True) for i in range(n)]
    with counter.counting(), instrumented(records, stop):
        with Monitor(sim._thread.native_id) as mon, cpu_samplers(profile, window_s) as samplers:
            t_start = time.time()
            for t in threads:
                t.start()
            time.sleep(window_s)
            writes, commits, statements, t_stop = counter.writes, counter.commits, counter.statements, time.time()
            stop.set()
        sim.clock.set_speed(SPEED * 10)               # the steps in flight finish; not measured
        for t in threads:
            t.join(120)
        sim.clock.set_speed(SPEED)
    jobs = jobs_by_lot_step(sim)
    overhead, wait, wall, tool = [], [], [], []
    for r in records:
        if r["end"] > t_stop:
            continue
        job = jobs.get((r["lot"], r["step"]))
        run_s = (job.ended_s - job.started_s) / SPEED if job and job.ended_s is not None and job.started_s else 0.0
        w = r["claimed"] - r["claim_from"]
        wall.append(r["end"] - r["start"])
        wait.append(w)
        tool.append(run_s)
        overhead.append(r["end"] - r["start"] - w - run_s)
    in_tasks = sum(max(0.0, min(r["end"], t_stop) - max(r["start"], t_start)) for r in records)
    return {"n": n, "steps": len(wall), "status": Counter(status), "wall": mon.wall, "overhead_med": median(overhead),
            "in_tasks": in_tasks / (n * (t_stop - t_start)),
            "overhead_p90": percentile(overhead, 90), "wait_med": median(wait), "step_wall_med": median(wall),
            "tool_med": median(tool), "cpu": mon.cpu, "sim_cpu": mon.sim_cpu, "prefect_cpu": mon.kids_cpu,
            "peak_rss": mon.peak_rss, "rss0": mon.rss0, "writes": writes, "commits": commits, "statements": statements,
            "pg_cpu": mon.pg_cpu if db_url.startswith("postgresql") or prefect_server.on_postgres else None,
            "breakdown": {name: s.result for name, s in samplers.items()}}


def jobs_by_lot_step(sim: Any) -> dict[tuple[str, str], Any]:
    """Each simulated job under every (lot, step) whose wafers it carried: a batch job is each of its lots'."""
    out = {}
    for tool in sim.tools.values():
        for j in tool.jobs.values():
            step = j.job_id.split(".")[1]
            for lot in {w.rsplit(".", 1)[0] for w in j.wafers}:
                out[(lot, step)] = j
    return out


@contextmanager
def cpu_samplers(on: bool, window_s: float) -> Iterator[dict[str, Sampler]]:
    """py-spy on this process (the orchestrator) and on the Prefect server for the window."""
    if not on:
        yield {}
        return
    kids = psutil.Process().children(recursive=True)
    pids = {"orchestrator": os.getpid(), **({"Prefect server": kids[0].pid} if kids else {})}
    with ExitStack() as stack:
        yield {name: stack.enter_context(Sampler(pid, window_s)) for name, pid in pids.items()}


def hold_of(headline: str) -> str:
    """'… ON HOLD at C04 on SP01 — ALARM: SP01 alarm 7003 PASTE_EXPIRED, wafer …' → 'ALARM 7003 PASTE_EXPIRED'."""
    import re

    m = re.search(r"— (\w+): (?:\S+ alarm (\d+ \w+))?", headline)
    return " ".join(x for x in m.groups() if x) if m else headline[:60]


def ledger_capacity(db_url: str, threads: int = 4, seconds: float = 2.0) -> float:
    """Committed event rows per second the ledger takes from `threads` writers (one row each)."""
    from line.ledger import Ledger

    ledger = Ledger(db_url)
    stop = time.perf_counter() + seconds
    counts = [0] * threads

    def writer(i: int) -> None:
        while time.perf_counter() < stop:
            ledger.record_event("tool", f"CAP{i}", "A", "B", "bench")
            counts[i] += 1

    ts = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ledger.dispose()
    return sum(counts) / seconds


@contextmanager
def database(kind: str, folder: Path, name: str) -> Iterator[str | None]:
    """A fresh ledger database: a SQLite file, or a scratch PostgreSQL database (None if down)."""
    if kind == "SQLite":
        yield f"sqlite:///{folder / f'{name}.db'}"
        return
    with pg_database() as url:
        yield url


def run(section: Section, quick: bool = False) -> None:
    from bench.scale_report import report
    from line.ledger import Ledger

    warm_prefect()
    lots = (1, 5) if quick else LOTS
    folder = scratch_dir()
    line_path = thirty_tool_line(folder)
    route = load_routes(PRODUCT)[PRODUCT]
    points: dict[tuple[str, int], dict[str, Any]] = {}
    capacity: dict[str, float] = {}
    with sim_line(line_path, speed=SPEED) as (sim, cfg):
        for db in ("SQLite", "PostgreSQL"):
            for n in lots:
                with database(db, folder, f"ledger-{n}") as url:
                    if url is not None:
                        points[(db, n)] = run_point(sim, line_path, route, n, url, WINDOW_S[n] * (0.5 if quick else 1),
                                                    profile=n == max(lots))
            with database(db, folder, "capacity") as url:
                if url is not None:
                    Ledger(url).dispose()
                    capacity[db] = ledger_capacity(url)
    report(section, points, capacity, len(cfg.tools), route, lots)
