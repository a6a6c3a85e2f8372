"""The Prefect server the benchmarks' lots talk to: a `prefect server start` on PostgreSQL (a
scratch database of its own), started by the benchmark — the server a line of many tools runs
against (deploy/), and the one whose figures hold still. Prefect's ephemeral server keeps its
state in SQLite; under 20–32 lots in one process it stalled for up to its 60 s busy timeout
("database is locked" on its own task-run inserts), and the saturated line measured 96 % and 22 %
of its bound an hour apart on the same code. `--prefect ephemeral` still measures that one."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from bench import ROOT
from bench.common import PG_ADMIN_URL, pg_database, scratch_dir
from line.cli.serve import free_port, healthy

STARTUP_S = 180.0
# What the run's Prefect server is, for the reports: set by `for_run`.
described = "Prefect's ephemeral server (SQLite)"
on_postgres = False


@contextmanager
def prefect_server(db_url: str, folder: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen]]:
    """A Prefect server on PostgreSQL (its own database), on a free port; its API URL and the env a
    worker needs to use it."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(folder / "prefect"),
           "PREFECT_API_DATABASE_CONNECTION_URL": db_url.replace("+psycopg", "+asyncpg"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(ROOT)}
    log = (folder / "prefect-server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + STARTUP_S
        while not healthy(api):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not come up: {(folder / 'prefect-server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield api, env, server
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@contextmanager
def for_run(kind: str) -> Iterator[str]:
    """Point this process's Prefect at the run's server: `postgres` starts one (PostgreSQL must be
    up — a benchmark that asked for it and cannot have it stops, rather than measure another
    server under the same name); `ephemeral` leaves Prefect to start its own. Must be entered before
    Prefect is imported here: Prefect reads its settings once, at import."""
    global described, on_postgres
    if kind == "ephemeral":
        yield described
        return
    if "prefect" in sys.modules:
        raise RuntimeError("Prefect was imported before its server was chosen: PREFECT_API_URL would be ignored")
    with pg_database("bumpline_bench_prefect") as db_url:
        if db_url is None:
            where = make_url(PG_ADMIN_URL)
            raise RuntimeError(f"PostgreSQL is not reachable at {where.host}:{where.port or 5432} (BUMPLINE_BENCH_PG_URL): "
                               "start it, or run with `--prefect ephemeral`")
        with prefect_server(db_url, scratch_dir()) as (api, _env, _server):
            os.environ["PREFECT_API_URL"] = api
            was = described, on_postgres
            described, on_postgres = "a Prefect server on PostgreSQL started for the run", True
            try:
                yield described
            finally:
                os.environ.pop("PREFECT_API_URL", None)
                described, on_postgres = was       # the server is gone: nothing may report it as the one used
