"""What tests share that is not a fixture: the CLI as a process of its own, one way to wait, one
port policy, process trees, small HTTP and simulator probes. Fixtures live in conftest.py and use
these; test modules import from here, never from conftest."""
from __future__ import annotations

import fcntl
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "recipes/sputter/ti100-cu300-seed.yaml"
PG_URL = os.environ.get("BUMPLINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BUMPLINE = [sys.executable, "-m", "line.cli"]          # the CLI, as a process of its own
# Every wait in a test ends before pytest's own timeout (300 s, pyproject.toml), so a failure prints
# the test's message rather than a stack dump of whatever thread was sleeping.
LONGEST_WAIT_S = 240.0
T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout_s: float = 30.0, what: str | Callable[[], str] = "the condition",
               poll_s: float = 0.05) -> T:
    """Poll until `predicate()` is truthy and return it; fail the test naming `what` (or what it
    returns: logs read at the moment of failure) after the timeout. An OSError while polling (a
    server not up yet) counts as not yet."""
    timeout_s = min(timeout_s, LONGEST_WAIT_S)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if value := predicate():
                return value
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what() if callable(what) else what}")
        time.sleep(poll_s)


def cli_env(**extra: str) -> dict[str, str]:
    """This process's environment (the test's BUMPLINE_HOME) plus `extra`: what a CLI run is given."""
    return {**os.environ, "COLUMNS": "200", **extra}


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """`bumpline ARGS` as an operator runs it, to the end."""
    return subprocess.run([*BUMPLINE, *args], cwd=ROOT, env=env or cli_env(), capture_output=True, text=True,
                          timeout=min(timeout, LONGEST_WAIT_S))


def spawn(*args: str, env: dict[str, str] | None = None, log: Any = subprocess.PIPE,
          argv: list[str] | None = None) -> subprocess.Popen:
    """A long-running `bumpline ARGS` (or `argv`) in a session of its own, so `stop` ends its whole tree."""
    return subprocess.Popen(argv or [*BUMPLINE, *args], cwd=ROOT, env=env or cli_env(), stdout=log,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, grace_s: float = 30.0) -> int:
    """Signal a spawned process group; kill it if it has not ended within the grace time."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        except ProcessLookupError:
            pass
    return proc.returncode


def kill_tree(proc: subprocess.Popen) -> None:
    """A machine going down: the process and every process it started die at once (SIGKILL)."""
    import psutil

    try:
        procs = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        procs = []
    for p in procs:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    proc.wait(10)


# ---- ports --------------------------------------------------------------------------------------
_PORT_LOCKS: list[int] = []          # file descriptors held for the life of the test process


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port for a server the test starts by number (a Prefect server, `bumpline serve`).

    Policy: below the kernel's ephemeral range, so no outgoing connection and no port-0 bind can
    take it between this call and the server's bind; held by an exclusive lock file for the rest of
    this process, so a suite running beside this one never picks it; and bindable now, so nothing
    else on the machine has it. Servers that can bind port 0 and report their port do that instead."""
    lock_dir = Path(tempfile.gettempdir()) / "bumpline-test-ports"
    lock_dir.mkdir(exist_ok=True)
    high = _ephemeral_low() - 1
    for _ in range(500):
        port = random.randint(20000, high)
        fd = os.open(lock_dir / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                os.close(fd)
                continue
        _PORT_LOCKS.append(fd)
        return port
    raise RuntimeError("no free port below the ephemeral range")


# ---- probes -------------------------------------------------------------------------------------
def http_json(base: str, method: str, path: str, body: dict | None = None) -> Any:
    """One JSON request to a REST API (Prefect's), its decoded answer."""
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                 method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def job_processing(sim: Any, job_id: str) -> bool:
    """The simulated tool that has this job is processing it now (a moment to kill the host)."""
    return any(job_id in t.jobs and t.jobs[job_id].state == "PROCESSING" for t in sim.tools.values())


def write_line(path: Path, ports: dict[str, int], limits: str = "") -> Path:
    """A line config of sputter tools on the given simulator ports (PVD01 gets `limits`)."""
    tools = "\n".join(
        f"  - id: {tid}\n    kind: sputter\n    address: TCPIP0::127.0.0.1::{port}::SOCKET\n"
        + (limits if tid == "PVD01" else "")
        for tid, port in ports.items())
    path.write_text(f"apiVersion: bumpline/v1\nkind: Line\nmetadata: {{name: test-line}}\ntools:\n{tools}")
    return path


# ---- simulators and databases -------------------------------------------------------------------
@contextmanager
def simulated(*tools: Any, speed: float = 600, seed: int = 7, control_port: int | None = None) -> Iterator[Any]:
    """Simulators of the given (id, kind) tools or SimToolSpecs on free loopback ports, in a thread."""
    from sim_hw.line import SimLine, SimToolSpec

    specs = [t if isinstance(t, SimToolSpec) else SimToolSpec(*t) for t in tools]
    line = SimLine(specs, speed=speed, seed=seed, control_port=control_port).start_in_thread()
    try:
        yield line
    finally:
        line.stop_thread()


def bound_line(cfg: Any, sim: Any, path: Path) -> str:
    """A copy of a line config at `path` pointing at simulators on their (free) ports."""
    from line.config import rebind_ports, save_line

    control = f"127.0.0.1:{sim.control.port}" if sim.control else None
    token = str(sim.control.token_file) if sim.control else None
    return save_line(rebind_ports(cfg, sim.ports(), sim.endpoint_ports(), speed=sim.clock.speed), path, control, token)


def one_step(lot_id: str, wafers: int, tool_id: str, recipe: str, line: str, **kw: Any) -> dict[str, Any]:
    """`bumpline run`'s flow: a lot through one tool recipe (a one-step route) pinned to a tool; the
    step's outcome."""
    from line.lot_flow import drive_lot

    out = drive_lot(lot_id, recipe, wafers, line, tool_id=tool_id, **kw)
    assert out["steps"], out
    return out["steps"][-1]


@contextmanager
def simulated_line_file(path: Path, speed: float = 3000,
                        config: Path = ROOT / "deploy/lines/sim.yaml") -> Iterator[tuple[Any, str]]:
    """A whole line config's simulators on free ports, and a copy of the config at `path` that points
    at them (with their control port): what a separate process (CLI, worker) is given."""
    from line.cli.sim import sim_line
    from line.config import load_line

    cfg = load_line(config)
    sim = sim_line(cfg, any_port=True, speed=speed, control_port=0).start_in_thread()
    try:
        yield sim, bound_line(cfg, sim, path)
    finally:
        sim.stop_thread()


def pg_available() -> bool:
    import sqlalchemy as sa

    try:
        with sa.create_engine(PG_URL).connect():
            return True
    except Exception:  # noqa: BLE001 - any failure to connect means "not here"
        return False


def require_pg() -> None:
    """PostgreSQL must be reachable: skip locally when it is not, fail under CI=true."""
    import pytest

    if not pg_available():
        msg = f"PostgreSQL not reachable at {PG_URL}"
        if IN_CI:
            pytest.fail(msg + " (CI=true: the PostgreSQL tests must run)")
        pytest.skip(msg)


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards); its psycopg URL."""
    from line.ledger.scratch import scratch_database as scratch

    with scratch(PG_URL, prefix) as url:
        yield url
