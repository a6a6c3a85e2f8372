"""What every benchmark shares: the figure record, a simulated line on loopback, routes, drivers
pointed at the simulators, scratch ledgers, Prefect's one start per run, and small statistics.

Everything is real: simulators listen on real sockets (any free port) in a thread of this
process, drivers speak their real protocol to them, Prefect runs for real (`bench/prefect_server.py`:
which server)."""
from __future__ import annotations

import logging
import math
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench import BENCH_HOME, ROOT

SIM_LINE = ROOT / "deploy/lines/sim.yaml"
RECIPES = ROOT / "recipes"
ROUTES = {
    "A": ROOT / "recipes/routes/product-a-spacing-pad-bump.yaml",
    "B": ROOT / "recipes/routes/product-b-rdl-recess.yaml",
    "C": ROOT / "recipes/routes/product-c-paste-core-bump.yaml",
    "D": ROOT / "recipes/routes/product-d-suspended-bump-release.yaml",
}
PG_ADMIN_URL = os.environ.get("BUMPLINE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# The simulator's highest usable clock. Simulated time then costs a few tens of wall milliseconds
# per job, so a step's wall time is mostly the host's own. Faster breaks the process, not the
# benchmark: the stencil printer's Ag-epoxy paste has a 4 h open time from JOB:CRE, and the host
# takes 15–100 ms (once 140 ms, on a first call) from create to start; at ×100 000 that is up
# to 4 simulated hours and the lot goes on hold PASTE_EXPIRED. ×50 000 leaves twice the margin.
TOP_SPEED = 50_000.0


@dataclass
class Figure:
    """One printed figure, with what it is compared to and, where the issue sets one, its goal."""
    bench: str
    name: str
    value: float
    unit: str
    ref_name: str = ""
    ref_value: float | None = None
    goal: str = ""            # e.g. "≤ 1.3×" — the ratio value/ref must meet it
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ref_value in (None, 0) or self.value is None:
            return None
        return self.value / self.ref_value

    @property
    def needs_why(self) -> bool:
        """Missed, or met by less than 5 % of the goal: worth a profile either way (runs vary)."""
        if self.met is None or self.ratio is None:
            return False
        num = float(self.goal.split()[1].rstrip("×%")) / (100 if self.goal.endswith("%") else 1)
        return self.met is False or abs(self.ratio - num) < 0.05 * num

    @property
    def met(self) -> bool | None:
        if not self.goal or self.ratio is None:
            return None
        op, num = self.goal.split()[0], float(self.goal.split()[1].rstrip("×%"))
        r = self.ratio * (100 if self.goal.endswith("%") else 1)
        return r <= num if op == "≤" else r >= num


@dataclass
class Section:
    """A benchmark's result: its figures and the prose RESULTS.md keeps (method, where time goes)."""
    title: str
    figures: list[Figure] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)      # figures the explanations use
    why: list[str] = field(default_factory=list)            # where the time goes, for a missed goal

    def add(self, *args: Any, **kw: Any) -> Figure:
        f = Figure(self.title, *args, **kw)
        self.figures.append(f)
        return f


# ---- statistics --------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(values)
    if not s:
        return math.nan
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


# ---- quiet, warm Prefect -------------------------------------------------------------------
def quiet() -> None:
    """Prefect logs every task run at INFO; the benchmark prints its own table."""
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", "httpx", "alembic", "pymodbus", "pyvisa"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # SimLine.stop cancels connection handlers mid-read; asyncio logs each as a traceback
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    for h in logging.getLogger("prefect").handlers:
        h.setLevel(logging.WARNING)


_warm: float | None = None
PREFECT_TEMPLATE = BENCH_HOME / "prefect-empty.db"


def fresh_prefect_db() -> None:
    """Start every run from the same nearly empty Prefect database: the ephemeral server slows down
    as its SQLite file grows (300 MB after a few runs of these benchmarks), which would make runs
    incomparable. The template is the database as the first run's warm-up left it."""
    import shutil

    home = Path(os.environ["PREFECT_HOME"])
    for suffix in ("", "-wal", "-shm"):
        (home / f"prefect.db{suffix}").unlink(missing_ok=True)
    if PREFECT_TEMPLATE.exists():
        shutil.copyfile(PREFECT_TEMPLATE, home / "prefect.db")


def _save_template() -> None:
    import sqlite3

    db = Path(os.environ["PREFECT_HOME"]) / "prefect.db"
    if PREFECT_TEMPLATE.exists() or not db.exists():
        return
    src, dst = sqlite3.connect(db), sqlite3.connect(PREFECT_TEMPLATE)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()


def warm_prefect() -> float:
    """Start Prefect's ephemeral server once per run (a trivial flow) so no figure pays for it;
    returns the seconds it took (0 after the first call)."""
    global _warm
    if _warm is not None:
        return 0.0
    from prefect import flow

    @flow(name="bench-warm-up", persist_result=False)
    def bench_warm_up() -> None:
        return None

    t0 = time.perf_counter()
    bench_warm_up()
    quiet()
    _warm = time.perf_counter() - t0
    _save_template()
    return _warm


# ---- the simulated line ------------------------------------------------------------------------
@contextmanager
def sim_line(config: str | Path = SIM_LINE, speed: float = TOP_SPEED, seed: int = 42) -> Iterator[tuple[Any, Any]]:
    """Every tool of a line config simulated on any free loopback port, in a thread; yields the
    SimLine and the line config rebound to the simulators' ports (also written to `sim.line_file`,
    the file a lot flow is given)."""
    from line.cli.sim import sim_line as build
    from line.config import load_line, rebind_ports, save_line

    cfg = load_line(str(config))
    sim = build(cfg, any_port=True, speed=speed).start_in_thread()
    sim.seed = seed
    try:
        bound = rebind_ports(cfg, sim.ports(), sim.endpoint_ports(), speed=sim.clock.speed)
        sim.line_file = save_line(bound, Path(tempfile.mkdtemp(prefix="bumpline-bench-line-")) / "line.yaml")
        yield sim, bound
    finally:
        time.sleep(0.2)               # let the handlers of closed connections finish before the loop stops
        sim.stop_thread()


def clear_alarms(sim: Any) -> None:
    """A hold leaves its alarm on the simulated tool (for an engineer); the next run starts clean."""
    for tool in sim.tools.values():
        if tool.alarm_rows:
            sim.call(tool.alarm_clear)


def load_routes(products: str = "ABCD") -> dict[str, Any]:
    from line.recipes.catalog import RecipeCatalog
    from line.recipes.route import load_route

    catalog = RecipeCatalog(RECIPES)
    return {p: load_route(str(ROUTES[p]), catalog) for p in products}


def start_wafers(sim: Any, route: Any, lot_id: str, n: int) -> list[str]:
    """Put a lot's wafers on the simulated line with their product's incoming design."""
    design = route.design()
    ids = [f"{lot_id}.{slot:02d}" for slot in range(1, n + 1)]
    for w in ids:
        sim.world.start_wafer(w, design)
    return ids


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6].upper()}"


def pick_tool(cfg: Any, rs: Any) -> Any:
    """The tool the dispatcher would pick on an idle line: the first capable one."""
    from line.dispatch import candidates

    tools = candidates(cfg, rs.step.tool_kind, rs.recipe.name, rs.body)
    if not tools:
        raise LookupError(f"no {rs.step.tool_kind} accepts {rs.recipe.ref}")
    return tools[0]


def driver_for(tool: Any) -> Any:
    from line.steps import vendor_driver

    return vendor_driver(tool)


def driver_step(tool: Any, body: Any, sha256: str, job_id: str, wafers: list[str]) -> list[str]:
    """The driver calls a route step makes (the same sequence `ToolStep.execute` makes), without
    ledger or Prefect: connect, set up, start, poll to the end, read results, close."""
    d = driver_for(tool)
    try:
        d.connect()
        d.setup(job_id, wafers, body, expected_hash=sha256)
        d.start()
        d.wait()
        return [r.status for r in d.results()]
    finally:
        d.close()


# ---- scratch ledgers ---------------------------------------------------------------------------
def scratch_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="bumpline-bench-"))
    return path


@contextmanager
def pg_database(prefix: str = "bumpline_bench") -> Iterator[str | None]:
    """A PostgreSQL database of our own for the run (dropped after); None if PostgreSQL is down."""
    from line.ledger.scratch import scratch_database

    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_database(PG_ADMIN_URL, prefix))
        except Exception:  # noqa: BLE001 - no PostgreSQL here: the caller reports the figure as missing
            url = None
        yield url


@contextmanager
def instrumented(records: list[dict[str, Any]], stop: threading.Event | None = None) -> Iterator[None]:
    """Time each route-step task call of `line.lot_flow` and its wait for a tool lease, in this
    process only (the module's `route_step_task` and `claim` are wrapped; nothing in `line/`
    changes). Records: lot, step, start, end, claim_from, claimed (time.time()). Once `stop` is set,
    a lot's next step is not run: the lot ends there, on hold (a benchmark window is over)."""
    import line.lot_flow as lf

    real_task, real_claim = lf.route_step_task, lf.claim
    local = threading.local()

    @contextmanager
    def timed_claim(*args: Any, **kwargs: Any) -> Iterator[Any]:
        t0 = time.time()
        with real_claim(*args, **kwargs) as grant:
            local.claim = (t0, time.time())
            yield grant

    def timed_task(*args: Any, **kwargs: Any) -> Any:
        plan, step_id, lot_id = args[:3]
        if stop is not None and stop.is_set():
            from prefect.states import Failed

            from line.steps import StepOutcome

            # a held step's final state, as the real task ends one (the lot flow reads its data)
            held = StepOutcome(lot_id, step_id, 0, "", "", "", "", "ON_HOLD", "BENCH",
                               "stopped at the end of the benchmark window")
            return Failed(name="OnHold", message=held.headline, data=held)
        local.claim = None
        t0 = time.time()
        try:
            return real_task(*args, **kwargs)
        finally:
            t1 = time.time()
            c = local.claim or (t1, t1)
            records.append({"lot": lot_id, "step": step_id, "start": t0, "end": t1, "claim_from": c[0],
                            "claimed": c[1]})

    lf.route_step_task, lf.claim = timed_task, timed_claim
    try:
        yield
    finally:
        lf.route_step_task, lf.claim = real_task, real_claim


class Monitor:
    """CPU of this process (less the simulators' thread and its own), of its children and of the
    PostgreSQL servers; peak RSS, sampled."""

    PG_EVERY = 5            # samples (0.25 s): PostgreSQL's processes are read at a quarter of the RSS rate

    def __init__(self, exclude_thread: int | None) -> None:
        self.proc = psutil.Process()
        self.exclude = exclude_thread
        self.peak_rss = 0
        self._stop = threading.Event()
        self._own_cpu = 0.0
        # (pid, start time) → (CPU when first seen, CPU when last seen) of each PostgreSQL process
        self._pg: dict[tuple[int, float], tuple[float, float]] = {}

    def _thread_cpu(self) -> float:
        for t in self.proc.threads():
            if t.id == self.exclude:
                return t.user_time + t.system_time
        return 0.0

    @staticmethod
    def _cpu_of(processes: Iterable[psutil.Process]) -> float:
        """User + system CPU seconds of the processes (one that ended meanwhile counts nothing)."""
        total = 0.0
        for p in processes:
            try:
                ct = p.cpu_times()
                total += ct.user + ct.system
            except psutil.Error:
                pass
        return total

    def _watch_postgres(self, first: bool = False) -> None:
        """Each PostgreSQL process's CPU so far. A sum of the live ones at the start and at the end
        would lose every backend that exited in between (a pool closing its connections) and could
        come out negative; each process is followed from its first sight instead — one that starts
        in the window from zero — and loses only its last quarter second if it exits."""
        for p in psutil.process_iter(["name", "create_time"]):
            if p.info["name"] not in ("postgres", "postmaster"):
                continue
            try:
                ct = p.cpu_times()
            except psutil.Error:
                continue
            key, now = (p.pid, p.info["create_time"]), ct.user + ct.system
            base = self._pg[key][0] if key in self._pg else (now if first else 0.0)
            self._pg[key] = (base, now)

    def _children_cpu(self) -> float:
        return self._cpu_of(self.proc.children(recursive=True))

    def __enter__(self) -> Monitor:
        self._watch_postgres(first=True)
        ct = self.proc.cpu_times()
        self.cpu0, self.sim0, self.kids0 = ct.user + ct.system, self._thread_cpu(), self._children_cpu()
        self.rss0 = self.peak_rss = self.proc.memory_info().rss
        self.t0 = time.perf_counter()
        self._sampler = threading.Thread(target=self._sample, name="bench-monitor", daemon=True)
        self._sampler.start()
        return self

    def _sample(self) -> None:
        n = 0
        while not self._stop.wait(0.05):
            self.peak_rss = max(self.peak_rss, self.proc.memory_info().rss)
            n += 1
            if n % self.PG_EVERY == 0:
                self._watch_postgres()
            self._own_cpu = time.thread_time()     # this thread's CPU is the benchmark's, not the orchestrator's

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sampler.join(1)
        self._watch_postgres()
        self.wall = time.perf_counter() - self.t0
        ct = self.proc.cpu_times()
        self.sim_cpu = self._thread_cpu() - self.sim0
        self.cpu = ct.user + ct.system - self.cpu0 - self.sim_cpu - self._own_cpu
        self.kids_cpu = self._children_cpu() - self.kids0
        self.pg_cpu = sum(last - first for first, last in self._pg.values())
