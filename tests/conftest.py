"""Shared fixtures: simulators on loopback, line files with their real ports, ledgers on SQLite
and PostgreSQL, and a real Prefect test server (started once, only for tests that need it)."""
from __future__ import annotations

import json
import os
import socket
import sys
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

import line.prefect_env  # noqa: F401
from sim_hw.line import SimLine, SimToolSpec

PG_URL = os.environ.get("BUMPLINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "recipes/sputter/ti100-cu300-seed.yaml"


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Ledger files and Prefect state of tests never land in the work tree."""
    home = tmp_path_factory.mktemp("bumpline-home")
    os.environ["BUMPLINE_HOME"] = str(home)
    os.environ.pop("BUMPLINE_DB_URL", None)


@pytest.fixture
def sim() -> Iterator[SimLine]:
    line = SimLine([SimToolSpec("PVD01", "sputter"), SimToolSpec("PVD02", "sputter")], speed=600, seed=7,
                   control_port=0).start_in_thread()
    yield line
    line.stop_thread()


def write_line(path: Path, ports: dict[str, int], limits: str = "") -> Path:
    tools = "\n".join(
        f"  - id: {tid}\n    kind: sputter\n    address: TCPIP0::127.0.0.1::{port}::SOCKET\n"
        + (limits if tid == "PVD01" else "")
        for tid, port in ports.items())
    path.write_text(f"apiVersion: bumpline/v1\nkind: Line\nmetadata: {{name: test-line}}\ntools:\n{tools}")
    return path


@pytest.fixture
def sim_line_file(tmp_path: Path) -> Iterator[tuple[SimLine, str]]:
    """The whole simulated line (deploy/lines/sim.yaml) on free ports at clock ×3000, and a line
    config file that points at them — what a separate process (CLI, worker) is given."""
    from ruamel.yaml import YAML

    from line.cli.sim import sim_line
    from line.config import load_line, rebind_ports

    cfg = load_line(ROOT / "deploy/lines/sim.yaml")
    sim = sim_line(cfg, any_port=True, speed=3000, control_port=0).start_in_thread()
    doc = rebind_ports(cfg, sim.ports(), sim.endpoint_ports()).model_dump(mode="json", exclude_none=True)
    doc["simulation"]["control"] = f"127.0.0.1:{sim.control.port}"
    path = tmp_path / "line.yaml"
    with path.open("w") as fh:
        YAML().dump(doc, fh)
    yield sim, str(path)
    sim.stop_thread()


def http_json(base: str, method: str, path: str, body: dict | None = None):  # noqa: ANN201
    """One JSON request to a REST API (Prefect's), its decoded answer."""
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                 method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


BUMPLINE = [sys.executable, "-c", "from line.cli import main; main()"]   # the CLI, as a process of its own


def job_processing(sim: SimLine, job_id: str) -> bool:
    """The simulated tool that has this job is processing it now (a moment to kill the host)."""
    return any(job_id in t.jobs and t.jobs[job_id].state == "PROCESSING" for t in sim.tools.values())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def line_file(sim: SimLine, tmp_path: Path) -> Path:
    return write_line(tmp_path / "line.yaml", sim.ports(), "    limits:\n      power_kw: {max: 20}\n")


def _pg_available() -> bool:
    try:
        with sa.create_engine(PG_URL).connect():
            return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the session. Unreachable: skip locally, fail under CI=true."""
    require_pg()
    with scratch_database("bumpline_test") as url:
        yield url


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards); its psycopg URL."""
    from line.ledger.scratch import scratch_database as scratch

    with scratch(PG_URL, prefix) as url:
        yield url


def require_pg() -> None:
    if not _pg_available():
        msg = f"PostgreSQL not reachable at {PG_URL}"
        if IN_CI:
            pytest.fail(msg + " (CI=true: the PostgreSQL tests must run)")
        pytest.skip(msg)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url = request.getfixturevalue("pg_url")
    # one schema-clean database per test: drop every table the previous test made
    from line.ledger.store import forget_shared

    forget_shared(url)
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    eng.dispose()
    return url


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A real Prefect server (temporary database) for flow tests; its API URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield PREFECT_API_URL.value()
