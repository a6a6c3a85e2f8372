"""Where a step's CPU goes: py-spy samples, from outside, the thread of a process that holds the
interpreter lock (GIL) while a benchmark runs — so the shares are shares of the Python work done, not
of wall time — and each sample is put in one bucket by the innermost frame that names a part of the
host. Only the GIL holder, because py-spy's idle detection without pausing the process counts
threads asleep in C (a `time.sleep` between polls, SQLite's busy wait for the write lock) as busy:
sampling every thread put 27 % of a 20-lot orchestrator's "CPU" in SQLite's execute, most of it
waiting. What runs in C with the GIL released (SQLite's own engine, socket system calls) is left out
of the shares; it is in the measured CPU they are scaled to.

py-spy (a well-kept sampling profiler, on PyPI) rather than an in-process profiler: cProfile and
yappi hook every call and slowed a 20-lot run ~15×, distorting exactly the Python-heavy parts
(SQLAlchemy, Prefect's engine) being weighed. py-spy needs ptrace; where it is refused the
benchmark reports its totals without the breakdown."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# (bucket, pattern on a frame "function (file:line)"); the innermost frame that matches decides.
BUCKETS: tuple[tuple[str, str], ...] = (
    ("simulators", r"\(sim_hw/"),
    ("benchmark harness", r"\(bench/|\(psutil/"),
    ("ledger (SQL, ORM)", r"\(line/ledger/|\(sqlalchemy/|\(sqlite3/|\(psycopg/|\(psycopg_pool/"),
    ("state machines (transitions)", r"\(transitions/|\(drivers/states\.py|\(line/tracking\.py"),
    ("driver I/O (pyvisa, pymodbus)", r"\(pyvisa|\(pymodbus/|\(drivers/"),
    ("Prefect events", r"\(prefect/events/|\(websockets/"),
    ("Prefect logging", r"\(prefect/logging/|\(logging/"),
    ("Prefect API client", r"\(prefect/client/|\(httpx/|\(httpcore/|\(ssl\.py|\(h11/|\(anyio/"),
    ("Prefect task/flow engine", r"\(prefect/"),
    ("dispatch, leases", r"\(line/(dispatch|leases)\.py"),
    ("bumpline flow and step", r"\(line/|\(drivers/"),
)
IDLE = re.compile(r"^(select|poll|epoll|wait|_wait|sleep|acquire|recv|recv_into|accept|read|readinto|"
                  r"_recv_bytes|get|_worker|_run_once|run_forever|select\.select|EpollSelector\.select|"
                  r"Condition\.wait|Event\.wait|Thread\.join|_wait_for_tstate_lock|SimpleQueue\.get)\b")


KEEP_RAW = "BENCH_SPY_KEEP"
"""a folder: each sampler's raw stacks are copied there (the breakdown's buckets hide which call costs)"""


def available() -> str | None:
    """The py-spy executable, or None."""
    exe = Path(sys.executable).with_name("py-spy")
    return str(exe) if exe.exists() else shutil.which("py-spy")


@dataclass
class Breakdown:
    """Samples of one process by bucket (idle samples dropped)."""
    counts: Counter[str] = field(default_factory=Counter)
    error: str = ""
    skipped: int = 0
    """lines of py-spy's output that were not a stack and a count"""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def shares(self, exclude: tuple[str, ...] = ()) -> list[tuple[str, float]]:
        kept = {k: v for k, v in self.counts.items() if k not in exclude}
        total = sum(kept.values()) or 1
        return sorted(((k, v / total) for k, v in kept.items()), key=lambda kv: -kv[1])


def bucket(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in BUCKETS:
            if re.search(pattern, frame):
                return name
    return "other (Python runtime, libraries)"


def parse(raw: str) -> Breakdown:
    out = Breakdown()
    for line in raw.splitlines():
        if not line.strip() or " " not in line:
            continue
        stack, n = line.rsplit(" ", 1)
        if not n.isdigit():                   # a stack cut off mid-line (py-spy stopped while writing)
            out.skipped += 1
            continue
        frames = stack.split(";")
        if IDLE.match(frames[-1]):
            continue                          # a thread parked in a wait py-spy did not see as idle
        out.counts[bucket(frames)] += int(n)
    return out


class Sampler:
    """`py-spy record` on a process for `seconds` from the start of the block; `result` after it.
    A fixed duration rather than a signal: a background job's children ignore SIGINT here."""

    def __init__(self, pid: int, seconds: float, rate_hz: int = 100) -> None:
        self.pid, self.seconds, self.rate = pid, max(1, round(seconds)), rate_hz
        self.result = Breakdown()
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Sampler:
        exe = available()
        if exe is None:
            self.result.error = "py-spy is not installed"
            return self
        fd, name = tempfile.mkstemp(prefix="bumpline-spy-", suffix=".txt")
        os.close(fd)
        self._out = Path(name)
        self._proc = subprocess.Popen([exe, "record", "--pid", str(self.pid), "--rate", str(self.rate), "--nonblocking",
                                       "--gil", "--duration", str(self.seconds), "--format", "raw", "--output", name],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is None:
            return
        try:
            _, err = self._proc.communicate(timeout=self.seconds + 30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            err = b"py-spy did not stop"
        raw = self._out.read_text() if self._out.exists() else ""
        if raw and os.environ.get(KEEP_RAW):    # a developer reading the stacks themselves
            shutil.copy(self._out, Path(os.environ[KEEP_RAW]) / f"spy-{self.pid}-{self._out.name}")
        self._out.unlink(missing_ok=True)
        self.result = parse(raw)
        if not raw:
            lines = err.decode(errors="replace").strip().splitlines()
            self.result.error = lines[-1] if lines else "py-spy wrote nothing"
