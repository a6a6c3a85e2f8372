"""The production shape, for real, on one machine: a Prefect server on PostgreSQL, the ledger on
PostgreSQL, the deployments of deploy/prefect.yaml in a process work pool, and two workers in
their own processes. Several lots run across both; one worker is killed (with its lot processes)
mid-run; `bumpline resume --deployment` (as the resume timer runs it) hands its lots to the pool —
those it had begun and those it had only taken, one with a blank lot id — and the survivor finishes them.
Every lot ends COMPLETE, no tool job starts twice, every wafer sees every step once."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import psutil
import pytest

from line.cli.serve import healthy
from line.ledger import Ledger
from line.operate import default_lot_id
from tests.support import (
    ROOT,
    cli,
    cli_env,
    free_port,
    http_json,
    job_processing,
    kill_tree,
    require_pg,
    scratch_database,
    spawn,
    stop,
    wait_until,
)

pytestmark = [pytest.mark.prefect, pytest.mark.postgres, pytest.mark.timeout(600)]
PY = sys.executable
LOTS = {"W1": "product-c-paste-core-bump", "W2": "product-c-paste-core-bump", "W3": "product-c-paste-core-bump"}


def lot_pids(ledger: Ledger) -> dict[str, int]:
    """Lot → pid of the process running it, from the lots' leases in the ledger."""
    out = {}
    for lot in LOTS:
        holder = ledger.lease_holder(f"lot:{lot}")
        if holder:
            out[lot] = int(holder.rsplit(":", 1)[1])
    return out


def ancestors(pid: int) -> set[int]:
    try:
        return {p.pid for p in psutil.Process(pid).parents()}
    except psutil.NoSuchProcess:
        return set()


def taken_then_lost(api: str, route: str) -> dict:
    """A run of run-lot/bumpline with a blank lot id that a worker took and died with before the lot
    reached the ledger: scheduled an hour ahead (no live worker takes it), then forced Running."""
    dep = http_json(api, "GET", "/deployments/name/run-lot/bumpline")
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    run = http_json(api, "POST", f"/deployments/{dep['id']}/create_flow_run", {
        "parameters": {"route": route, "wafers": 1},
        "state": {"type": "SCHEDULED", "state_details": {"scheduled_time": later}}})
    http_json(api, "POST", f"/flow_runs/{run['id']}/set_state", {"state": {"type": "RUNNING"}, "force": True})
    return run


def stall_jobs_of(sim, lots) -> None:
    """Every job of these lots stays PROCESSING on its tool (wafers done) until released."""
    for tool in sim.tools:
        sim.call(sim.inject, tool, "stall", job=",".join(f"{lot}." for lot in lots), persistent=True)


def test_two_workers_on_postgres_lose_nothing_when_one_is_killed(sim_line_file, tmp_path):
    require_pg()
    sim, line_path = sim_line_file
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    children: list[subprocess.Popen] = []
    with scratch_database("bumpline_prefect") as prefect_db, scratch_database("bumpline_ledger") as ledger_db:
        env = cli_env(PREFECT_API_URL=api, PREFECT_HOME=str(tmp_path / "prefect"),
                      PREFECT_API_DATABASE_CONNECTION_URL=prefect_db.replace("+psycopg", "+asyncpg"),
                      PREFECT_SERVER_ANALYTICS_ENABLED="false", BUMPLINE_DB_URL=ledger_db,
                      PREFECT_WORKER_QUERY_SECONDS="2", PREFECT_WORKER_PREFETCH_SECONDS="2",
                      BUMPLINE_LINE=line_path, BUMPLINE_ROOT=str(ROOT), BUMPLINE_HOME=str(tmp_path / "home"))
        logs = tmp_path / "logs"
        logs.mkdir()
        try:
            children.append(spawn(argv=[PY, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",
                                        str(port)], env=env, log=(logs / "server.log").open("w")))
            wait_until(lambda: children[0].poll() is None and healthy(api), 200,
                       "the Prefect server (logs/server.log)", poll_s=0.5)

            def prefect(*args: str) -> str:
                out = subprocess.run([PY, "-m", "prefect", *args], cwd=ROOT, env=env, capture_output=True,
                                     text=True, timeout=180)
                assert out.returncode == 0, out.stdout + out.stderr
                return out.stdout

            prefect("work-pool", "create", "bumpline-lots", "--type", "process")
            prefect("--no-prompt", "deploy", "--prefect-file", "deploy/prefect.yaml", "--all")
            workers = {name: spawn(argv=[PY, "-m", "prefect", "worker", "start", "--pool", "bumpline-lots",
                                         "--name", name, "--limit", "2"], env=env,
                                   log=(logs / f"{name}.log").open("w"))
                       for name in ("bay-one", "bay-two")}
            children += workers.values()
            stall_jobs_of(sim, LOTS)            # every lot holds at its first job until the test says
            for lot, route in LOTS.items():
                prefect("deployment", "run", "run-lot/bumpline", "--param", f"route={route}",
                        "--param", f"lot_id={lot}", "--param", "wafers=1")

            ledger = Ledger(ledger_db)
            victim = workers["bay-one"]
            # three lots, at most two per worker: both workers hold lots. Release bay-two's, so bay-one's
            # lot gets its tool whatever the others held, and wait until it is mid-step, by the tool
            # and by the ledger — a state that stays until the kill, not a moment to catch
            pids = wait_until(lambda: len(p := lot_pids(ledger)) == len(LOTS) and p, 200,
                              lambda: "every lot taken by a worker: " + "".join(
                                  p.read_text()[-2000:] for p in logs.glob("bay-*.log")), poll_s=0.2)
            mine = sorted(lot for lot, pid in pids.items() if victim.pid in ancestors(pid))
            assert mine and len(mine) < len(LOTS), pids
            stall_jobs_of(sim, mine)

            def mid_step() -> list[str]:
                return sorted({lot for lot in mine for r in ledger.step_runs(lot) if r.status == "RUNNING"
                               and job_processing(sim, r.job_id)
                               and any(e.dest == "PROCESSING" for e in ledger.events("job", r.job_id))})
            killed = wait_until(mid_step, 200, f"a lot of bay-one ({mine}) mid-step", poll_s=0.2)
            kill_tree(victim)
            for tool in sim.tools:
                sim.call(sim.clear, tool, "stall")
            orphan = taken_then_lost(api, "product-c-paste-core-bump")   # and one it took with no lot id yet
            unnamed = default_lot_id("C", orphan["id"], datetime.fromisoformat(orphan["expected_start_time"]))
            watch = {**LOTS, unnamed: "product-c-paste-core-bump"}

            # what the resume timer of deploy/systemd does: every few seconds, hand the pool what died
            said, deadline, next_resume = "", time.monotonic() + 230, 0.0
            while {ledger.lot(lot).status if ledger.lot(lot) else "" for lot in watch} - {"COMPLETE", "ON_HOLD"}:
                assert time.monotonic() < deadline, ({lot: ledger.lot(lot).status for lot in watch if ledger.lot(lot)},
                                                     said)
                assert workers["bay-two"].poll() is None
                if time.monotonic() > next_resume:
                    out = cli("resume", "--line", line_path, "--deployment", "run-lot/bumpline", "--stale-after",
                              "15", env=env, timeout=180)
                    assert out.returncode == 0, out.stdout + out.stderr
                    said += out.stdout
                    next_resume = time.monotonic() + 10
                time.sleep(0.5)
            for lot in killed:
                assert f"resuming {lot}" in said, said
            assert said.count(f"resubmitting {unnamed} ") == 1, said       # the lot id it would have made itself
            assert [lot.id for lot in ledger.lots() if lot.id not in LOTS] == [unnamed]   # one lot, not two
            for lot in watch:
                status = ledger.lot(lot)
                assert status.status == "COMPLETE", (lot, status.status, status.hold_reason)
                runs = ledger.step_runs(lot)
                assert {r.status for r in runs} == {"COMPLETE"} and len({r.step_id for r in runs}) == len(runs)
                jobs = [h["job"] for h in sim.world.wafer(f"{lot}.01").history]
                assert len(jobs) == len(set(jobs)) == len(runs)          # each step processed the wafer once
            for tool in sim.tools.values():
                assert all(j.start_count == 1 for j in tool.jobs.values()), (tool.tool_id, tool.job_log())
            assert any(e.trigger == "reattach" for lot in killed for r in ledger.step_runs(lot)   # cut off, then
                       for e in ledger.events("job", r.job_id))                                  # reattached
            ledger.dispose()
        finally:
            for proc in reversed(children):
                stop(proc, signal.SIGINT, grace_s=20)
