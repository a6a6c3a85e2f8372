"""7. 100 lots at once: two long-lived worker processes (`bench.scale_worker`), each running 50 lots
as threads, against one Prefect server on PostgreSQL started here, the ledger on PostgreSQL too,
on a line of 61 simulated tools at ×2500 (deploy/lines/sim.yaml three times over, a fourth litho
pair, cure pair, plater set and metrology pair). Lots are products A, B and D (release) in turn —
not C, whose 4 h paste window is under 6 wall seconds at this clock. The same setup with one
worker and one lot gives the 1-lot figure the 100-lot step overhead is held against.

A step's overhead is as in section 4: its task's wall time less its wait for a tool and less its
job's time on the tool (the simulators' job log; a batch job counts for each of its lots). Memory is
the peak of every process of the run together (this one with the simulators, the workers, the
Prefect server and its children, the PostgreSQL backends)."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from bench.common import ROOT, Section, median, percentile, pg_database, scratch_dir
from bench.prefect_server import prefect_server
from bench.scale import jobs_by_lot_step

SPEED = 2_500.0
LOTS = 100
WORKERS = 2
WINDOW_S = 120.0
ONE_LOT_WINDOW_S = 45.0
QUICK = dict(lots=10, window=40.0, one=25.0)
EXTRA = ("LITHO01", "LITHO02", "CURE01", "CURE02", "EP01", "EP02", "EP03", "EP04", "MET01", "MET02")


def sixty_tool_line(folder: Path) -> Path:
    """deploy/lines/sim.yaml three times over (new ids; ports are bound when the simulators start),
    plus a fourth copy of the litho, cure, plating and metrology tools: 61 tools."""
    import yaml

    doc = yaml.safe_load((ROOT / "deploy/lines/sim.yaml").read_text())
    base = list(doc["tools"])
    for copy_no in (2, 3, 4):
        for tool in base:
            if copy_no == 4 and tool["id"] not in EXTRA:
                continue
            twin = copy.deepcopy(tool)
            twin["id"] = f"{tool['id']}X{copy_no}"
            doc["tools"].append(twin)
    doc["metadata"]["name"] = "bench-61-tools"
    path = folder / "line-61.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@contextmanager
def simulated(line_path: Path, folder: Path) -> Iterator[tuple[Any, str]]:
    """The line's simulators on free ports with their control port (the workers bring their lots'
    wafers onto the line through it), and the line file that points at them."""
    from line.cli.sim import sim_line
    from line.config import load_line, rebind_ports, save_line

    cfg = load_line(str(line_path))
    sim = sim_line(cfg, any_port=True, speed=SPEED, control_port=0).start_in_thread()
    try:
        bound = rebind_ports(cfg, sim.ports(), sim.endpoint_ports(), speed=sim.clock.speed)
        path = save_line(bound, folder / "line-bound.yaml", f"127.0.0.1:{sim.control.port}", str(sim.control.token_file))
        yield sim, path
    finally:
        time.sleep(0.2)
        sim.stop_thread()


class Memory:
    """The peak of the run's processes' resident memory together, sampled twice a second."""

    def __init__(self, roots: list[int]) -> None:
        self.roots, self.peak, self._stop = roots, 0, threading.Event()

    def total(self) -> int:
        procs: dict[int, psutil.Process] = {}
        for pid in self.roots:
            try:
                p = psutil.Process(pid)
                procs[p.pid] = p
                for c in p.children(recursive=True):
                    procs[c.pid] = c
            except psutil.NoSuchProcess:
                continue
        for p in psutil.process_iter(["name"]):
            if p.info["name"] == "postgres":
                procs[p.pid] = p
        out = 0
        for p in procs.values():
            try:
                out += p.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return out

    def __enter__(self) -> Memory:
        def watch() -> None:
            while not self._stop.wait(0.5):
                self.peak = max(self.peak, self.total())
        self._thread = threading.Thread(target=watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def run_workers(sim: Any, line: str, ledger_db: str, env: dict[str, str], server: subprocess.Popen, workers: int,
                lots_each: int, window_s: float, folder: Path, tag: str) -> dict[str, Any]:
    procs, outs = [], []
    for i in range(workers):
        out = folder / f"{tag}-w{i}.json"
        outs.append(out)
        log = (folder / f"{tag}-w{i}.log").open("w")
        procs.append(subprocess.Popen([sys.executable, "-m", "bench.scale_worker", "--name", f"{tag}W{i}",
                                       "--lots", str(lots_each), "--window", str(window_s), "--line", line,
                                       "--db", ledger_db, "--out", str(out)],
                                      env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))
    srv = psutil.Process(server.pid)
    cpu_srv0 = sum(sum(p.cpu_times()[:2]) for p in [srv, *srv.children(recursive=True)])
    with Memory([os.getpid(), server.pid, *(p.pid for p in procs)]) as mem:
        for p in procs:
            try:
                p.wait(window_s + 400)
            except subprocess.TimeoutExpired:
                p.terminate()
                p.wait(60)
    cpu_srv = sum(sum(p.cpu_times()[:2]) for p in [srv, *srv.children(recursive=True)]) - cpu_srv0
    results = [json.loads(o.read_text()) for o in outs if o.exists()]
    if len(results) != workers:
        logs = "".join((folder / f"{tag}-w{i}.log").read_text()[-1500:] for i in range(workers))
        raise RuntimeError(f"{workers - len(results)} worker(s) wrote no result: {logs}")
    jobs = jobs_by_lot_step(sim)
    overhead, steps_in_window = [], 0
    t_stop = min(r["t_stop"] for r in results)
    t_start = max(r["t_start"] for r in results)
    for r in results:
        for rec in r["records"]:
            if rec["end"] > r["t_stop"]:
                continue
            steps_in_window += 1
            job = jobs.get((rec["lot"], rec["step"]))
            run_s = (job.ended_s - job.started_s) / SPEED if job and job.ended_s is not None and job.started_s else 0.0
            overhead.append(rec["end"] - rec["start"] - (rec["claimed"] - rec["claim_from"]) - run_s)
    ends: Counter[str] = Counter()
    for r in results:
        ends.update(r["ends"])
    return {"overhead_med": median(overhead), "overhead_p90": percentile(overhead, 90), "steps": steps_in_window,
            "window": t_stop - t_start, "failed_starts": [f for r in results for f in r["failed_starts"]],
            "ends": ends, "worker_cpu": sum(r["cpu_s"] for r in results), "server_cpu": cpu_srv,
            "peak_mem": mem.peak, "worker_rss": max(r["peak_rss"] for r in results)}


def run(section: Section, quick: bool = False) -> None:
    lots = QUICK["lots"] if quick else LOTS
    window = QUICK["window"] if quick else WINDOW_S
    one_window = QUICK["one"] if quick else ONE_LOT_WINDOW_S
    folder = scratch_dir()
    with pg_database("bumpline_s100_prefect") as prefect_db, pg_database("bumpline_s100_ledger") as ledger_db:
        if prefect_db is None or ledger_db is None:
            section.text.append("PostgreSQL is not reachable here: the 100-lot section needs it (Prefect server and ledger).")
            return
        from line.ledger import Ledger

        Ledger(ledger_db).dispose()                      # the schema, outside the figures
        with simulated(sixty_tool_line(folder), folder) as (sim, line), prefect_server(prefect_db, folder) as (
                api, env, server):
            one = run_workers(sim, line, ledger_db, env, server, 1, 1, one_window, folder, "one")
            many = run_workers(sim, line, ledger_db, env, server, WORKERS, lots // WORKERS, window, folder, "many")
    cores = psutil.cpu_count() or 1
    busy = (many["worker_cpu"] + many["server_cpu"]) / (many["window"] * cores)
    section.add(f"{lots} lots: step overhead (median)", many["overhead_med"] * 1000, "ms", "1 lot, same setup",
                one["overhead_med"] * 1000, goal="≤ 1.2×",
                note=f"{WORKERS} worker processes × {lots // WORKERS} lots, 61 tools ×{SPEED:g}, Prefect server and "
                     f"ledger on PostgreSQL; {many['steps']} steps in {many['window']:.0f} s; p90 "
                     f"{many['overhead_p90'] * 1000:.0f} ms")
    section.add(f"{lots} lots: failed flow-run starts", float(len(many["failed_starts"])), "runs", goal="",
                note="; ".join(sorted(set(many["failed_starts"])))[:200] or "none")
    section.add(f"{lots} lots: peak memory, every process", many["peak_mem"] / 2**30, "GiB", "goal", 12.0,
                goal="≤ 1×", note=f"a worker's peak {many['worker_rss'] / 2**20:.0f} MiB")
    section.add(f"{lots} lots: CPU busy (workers + Prefect server)", busy * 100, "%", note=f"of {cores} cores over the window")
    section.text += [
        f"{lots} lots in process at once, run by {WORKERS} long-lived worker processes ({lots // WORKERS} lots each, "
        f"as threads) on a line of 61 simulated tools at ×{SPEED:g}, against a Prefect server on PostgreSQL "
        f"started for the run and the ledger on PostgreSQL; products A, B and D (release) in turn. Window "
        f"{window:g} s (1 lot: {one_window:g} s). Lots ended: {dict(many['ends'])}; failed flow-run starts: "
        f"{len(many['failed_starts'])}.",
        "",
        f"CPU over the window: workers {many['worker_cpu'] / many['window']:.2f} cores, Prefect server "
        f"{many['server_cpu'] / many['window']:.2f} cores, of {cores}; {many['steps'] / many['window']:.1f} steps/s "
        f"(1 lot: {one['steps'] / one['window']:.2f} steps/s, overhead {one['overhead_med'] * 1000:.0f} ms).",
    ]
    if section.figures[0].needs_why:
        section.why.append(
            f"- **{lots} lots**: a step's overhead is {many['overhead_med'] / one['overhead_med']:.1f}× the 1-lot figure. "
            f"The host's CPU is what limits it: the workers and the Prefect server kept {busy * 100:.0f} % of the "
            f"{cores} cores busy while {lots} lots asked for {many['steps'] / many['window']:.1f} steps a second — at "
            "the CPU a step costs now (section 4), this machine runs out of cores before the tools run out of work.")
    section.data.update(one=one, many={k: v for k, v in many.items() if k != "ends"})
