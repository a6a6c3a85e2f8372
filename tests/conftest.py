"""Fixtures: simulators on loopback, line files with their real ports, ledgers on SQLite and
PostgreSQL, and a real Prefect test server (started once, only for tests that need it). Helpers
that are not fixtures live in tests/support.py."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import line.prefect_env  # noqa: F401 - Prefect's settings, before Prefect is imported

# isort: split
from sim_hw.line import SimLine
from tests.support import require_pg, scratch_database, simulated, simulated_line_file, write_line


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Ledger files and Prefect state of tests never land in the work tree. At the end, Prefect's
    temporary server (started by a test that ran a flow without the test server) is stopped here:
    left to Prefect's atexit hook, it logs "Stopping temporary server" into pytest's closed capture
    and prints a logging traceback after the summary."""
    home = tmp_path_factory.mktemp("bumpline-home")
    os.environ["BUMPLINE_HOME"] = str(home)
    os.environ.pop("BUMPLINE_DB_URL", None)
    yield
    if "prefect.server.api.server" in sys.modules:
        from prefect.server.api.server import SubprocessASGIServer

        for server in list(SubprocessASGIServer._instances.values()):
            server.stop()


@pytest.fixture
def sim() -> Iterator[SimLine]:
    """Two sputter tools with a control port (what `bumpline sim` commands talk to)."""
    with simulated(("PVD01", "sputter"), ("PVD02", "sputter"), control_port=0) as line:
        yield line


@pytest.fixture
def sim_line_file(tmp_path: Path) -> Iterator[tuple[SimLine, str]]:
    """The whole simulated line (deploy/lines/sim.yaml) on free ports at clock ×3000, and a line
    config file that points at them — what a separate process (CLI, worker) is given."""
    with simulated_line_file(tmp_path / "line.yaml") as pair:
        yield pair


@pytest.fixture
def line_file(sim: SimLine, tmp_path: Path) -> Path:
    return write_line(tmp_path / "line.yaml", sim.ports(), "    limits:\n      power_kw: {max: 20}\n")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the session. Unreachable: skip locally, fail under CI=true."""
    require_pg()
    with scratch_database("bumpline_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The one ledger fixture: an empty ledger database, once on SQLite and once on PostgreSQL."""
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


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite ledger for tests that need one database, not both."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A real Prefect server (temporary database) for flow tests; its API URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield PREFECT_API_URL.value()
