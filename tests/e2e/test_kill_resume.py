"""A real `kill -9` of orchestrators mid-step, then `bumpline resume`: every lot finishes, no tool
job starts twice, no record is lost — on SQLite and PostgreSQL. And holds answered from the CLI:
to a flow run paused on the hold, or into the ledger when no orchestrator waits."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from line.ledger import Ledger
from tests.conftest import BUMPLINE, job_processing, ROOT
from tests.hil.helpers import wait_for

pytestmark = pytest.mark.prefect
ROUTES = "recipes/routes/"
# lot → (route, the step to kill it in): every kind of tool and protocol is cut off once
KILLS = {"KS": ("product-c-paste-core-bump", "C03"),             # sputter (SCPI)
         "KP": ("product-c-paste-core-bump", "C04"),             # stencil printer (Modbus PLC)
         "KO": ("product-c-paste-core-bump", "C04b"),            # cure oven (Modbus PLC, batch)
         "KE": ("product-b-rdl-recess", "B07")}                  # plater (Modbus PLC + SCPI rectifiers)


@pytest.fixture
def simulated(sim_line_file):
    return sim_line_file


def run(args: list[str], env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    """`bumpline ARGS` as an operator runs it, to the end."""
    return subprocess.run([*BUMPLINE, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def bumpline(args: list[str], env: dict, **kw) -> subprocess.Popen:
    return subprocess.Popen([*BUMPLINE, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)


def test_kill_9_mid_step_in_several_lots_then_resume(prefect_server, simulated, db_url):
    sim, line_file = simulated
    kills = KILLS if db_url.startswith("sqlite") else {k: KILLS[k] for k in ("KP", "KO")}   # time: 2 on PG
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "BUMPLINE_DB_URL": db_url, "COLUMNS": "200"}
    procs = {lot: bumpline(["lot", "start", "--route", f"{ROUTES}{route}.yaml", "--lot", lot, "--wafers", "1",
                            "--line", line_file], env)
             for lot, (route, _) in kills.items()}
    alive = dict(procs)
    deadline = time.monotonic() + 180
    while alive:                                          # kill each orchestrator while its step runs
        for lot, proc in list(alive.items()):
            if job_processing(sim, f"{lot}.{kills[lot][1]}.r0"):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
                del alive[lot]
            else:
                assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, f"steps never started: {sorted(alive)}"
        time.sleep(0.01)
    ledger = Ledger(db_url)
    assert {ledger.lot(lot).status for lot in kills} == {"RUNNING"}
    out = run(["resume", "--line", line_file], env, 280)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("marked Crashed") == len(kills)         # Prefect is told what happened to the dead runs
    for lot, (route, killed_at) in kills.items():
        assert f"{lot} COMPLETE" in out.stdout
        assert ledger.lot(lot).status == "COMPLETE"
        runs = ledger.step_runs(lot)
        assert {r.status for r in runs} == {"COMPLETE"} and len({r.step_id for r in runs}) == len(runs)
        assert all(len(ledger.results(r.id)) == 1 for r in runs)      # every step's record is there
        jobs = [h["job"] for h in sim.world.wafer(f"{lot}.01").history]
        assert len(jobs) == len(set(jobs)) == len(runs)                 # each step processed the wafer once
        assert any(e.trigger == "reattach" for e in ledger.events("job", f"{lot}.{killed_at}.r0"))
        taken = [e for e in ledger.events("lot", lot) if e.trigger in ("break", "lapse")]   # the dead holder's lease:
        assert [e.data["holder"].endswith(f":{procs[lot].pid}") for e in taken] == [True]   # broken, or lapsed if slow
    for tool in sim.tools.values():                         # the tools' own logs: nothing started twice
        assert all(j.start_count == 1 for j in tool.jobs.values()), (tool.tool_id, tool.job_log())
    assert all(ledger.lease_holder(t) is None for t in sim.tools)
    assert all(ledger.lease_holder(f"lot:{lot}") is None for lot in kills)
    ledger.dispose()


@pytest.fixture
def misaligned_printer(prefect_server, simulated, tmp_path):
    """The line with SP01 misaligning every print (a hold at C04), a fresh ledger, the CLI's env."""
    sim, line_file = simulated
    db = f"sqlite:///{tmp_path / 'l.db'}"
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "BUMPLINE_DB_URL": db, "COLUMNS": "200"}
    sim.call(sim.inject, "SP01", "misalignment", um=45, persistent=True)
    return line_file, db, env


def test_a_paused_hold_is_answered_from_the_cli(misaligned_printer):
    line_file, db, env = misaligned_printer
    lot = bumpline(["lot", "start", "--route", f"{ROUTES}product-c-paste-core-bump.yaml", "--lot", "H1",
                    "--wafers", "1", "--hold-timeout", "300", "--line", line_file], env)
    ledger = Ledger(db)
    from line.holds import NotYetWaiting, waiting_flow_run

    def paused_on_hold() -> bool:
        try:
            return waiting_flow_run(ledger, "H1") is not None
        except NotYetWaiting:                     # its orchestrator holds the lot, not paused yet
            return False
    wait_for(paused_on_hold, timeout_s=150, poll_s=0.5)
    bad = run(["lot", "answer", "H1", "--decision", "redo", "--operator", "op-9"], env)
    assert bad.returncode == 1 and "must be one of" in bad.stderr
    ok = run(["lot", "answer", "H1", "--decision", "rework", "--operator", "op-9", "--note", "SP01 fiducials"], env)
    assert ok.returncode == 0 and "sent 'rework'" in ok.stdout, ok.stdout + ok.stderr
    assert lot.wait(180) == 0, lot.stdout.read()
    hold = ledger.holds("H1")[0]
    assert (hold.reason_type, hold.decision, hold.decided_by, hold.note) == ("ALARM", "rework", "op-9", "SP01 fiducials")
    c04 = [(r.rework, r.tool_id, r.status) for r in ledger.step_runs("H1") if r.step_id == "C04"]
    assert c04 == [(0, "SP01", "ON_HOLD"), (1, "SP02", "COMPLETE")]
    ledger.dispose()


def test_a_hold_nobody_waits_on_is_answered_into_the_ledger_then_resumed(misaligned_printer):
    line_file, db, env = misaligned_printer
    first = run(["lot", "start", "--route", f"{ROUTES}product-c-paste-core-bump.yaml", "--lot", "H2",
                 "--wafers", "1", "--line", line_file], env, 180)
    assert first.returncode == 2 and "H2 ON_HOLD" in first.stdout, first.stdout + first.stderr
    answer = run(["lot", "answer", "H2", "-d", "rework", "-o", "op-3"], env)
    assert answer.returncode == 0 and "recorded 'rework'" in answer.stdout, answer.stdout + answer.stderr
    again = run(["lot", "answer", "H2", "-d", "continue", "-o", "op-3"], env)
    assert again.returncode == 1 and "no open hold" in again.stderr
    resumed = run(["resume", "--line", line_file], env, 180)
    assert resumed.returncode == 0 and "H2 COMPLETE" in resumed.stdout, resumed.stdout + resumed.stderr
    ledger = Ledger(db)
    c04 = [(r.rework, r.tool_id, r.status) for r in ledger.step_runs("H2") if r.step_id == "C04"]
    assert c04 == [(0, "SP01", "ON_HOLD"), (1, "SP02", "COMPLETE")]
    assert ledger.holds("H2")[0].decided_by == "op-3"
    ledger.dispose()
