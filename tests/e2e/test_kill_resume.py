"""A real `kill -9` of the orchestrator mid-step, then `bumpline resume`: every lot finishes, no tool
job starts twice, no record is lost — on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from ruamel.yaml import YAML

from line.cli.sim import sim_line
from line.config import load_line, rebind_ports
from line.ledger import Ledger
from tests.conftest import ROOT

pytestmark = pytest.mark.prefect
BUMPLINE = [sys.executable, "-c", "from line.cli import main; main()"]
ROUTE = "recipes/routes/product-c-paste-core-bump.yaml"


@pytest.fixture
def simulated(tmp_path):
    cfg = load_line(ROOT / "deploy/lines/sim.yaml")
    sim = sim_line(cfg, any_port=True, speed=3000, control_port=0).start_in_thread()
    bound = rebind_ports(cfg, sim.ports(), sim.endpoint_ports())
    doc = bound.model_dump(mode="json", exclude_none=True)
    doc["simulation"]["control"] = f"127.0.0.1:{sim.control.port}"
    path = tmp_path / "line.yaml"
    with path.open("w") as fh:
        YAML().dump(doc, fh)
    yield sim, str(path)
    sim.stop_thread()


def job_running(sim, job_id: str) -> bool:
    return any(job_id in t.jobs and t.jobs[job_id].state == "PROCESSING" for t in sim.tools.values())


@pytest.mark.parametrize("kill_at", ["C01", "C04b"])
def test_kill_9_mid_step_then_resume(prefect_server, simulated, db_url, kill_at):
    if kill_at == "C01" and db_url.startswith("postgresql"):
        pytest.skip("one kill point is enough on the second database")
    sim, line_file = simulated
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "BUMPLINE_DB_URL": db_url, "COLUMNS": "200"}
    proc = subprocess.Popen([*BUMPLINE, "lot", "start", "--route", ROUTE, "--lot", "K1", "--wafers", "2",
                             "--line", line_file], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    job = f"K1.{kill_at}.r0"
    deadline = time.monotonic() + 120
    while not job_running(sim, job):
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)                      # the orchestrator dies mid-step
    proc.wait(10)
    ledger = Ledger(db_url)
    assert ledger.lot("K1").status == "RUNNING"
    out = subprocess.run([*BUMPLINE, "resume", "--line", line_file], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "K1 COMPLETE" in out.stdout
    assert ledger.lot("K1").status == "COMPLETE"
    runs = ledger.step_runs("K1")
    assert len(runs) == 7 and {r.status for r in runs} == {"COMPLETE"}   # every step once, none lost
    for tool in sim.tools.values():                         # the tools' own logs: nothing started twice
        assert all(j.start_count == 1 for j in tool.jobs.values()), (tool.tool_id, tool.job_log())
    for wafer in ("K1.01", "K1.02"):
        jobs = [h["job"] for h in sim.world.wafer(wafer).history]
        assert len(jobs) == len(set(jobs)) == 7              # each step processed each wafer exactly once
        assert all(len(ledger.results(r.id)) == 2 for r in runs)
    assert any(e.trigger == "reattach" for e in ledger.events("job", job))
    assert all(ledger.lease_holder(t) is None for t in sim.tools)
    ledger.dispose()
