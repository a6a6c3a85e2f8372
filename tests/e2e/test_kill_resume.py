"""A real `kill -9` of orchestrators mid-step, then `bumpline resume`: every lot finishes, no tool
job starts twice, no record is lost — on SQLite and PostgreSQL. And holds answered from the CLI:
to a flow run paused on the hold, or into the ledger when no orchestrator waits."""
from __future__ import annotations

import os
import signal

import pytest

from line.ledger import Ledger
from tests.support import cli, cli_env, job_processing, spawn, wait_until

pytestmark = pytest.mark.prefect
ROUTES = "recipes/routes/"
# lot → (route, the step to kill it in): every kind of tool and protocol is cut off once
KILLS = {"KS": ("product-c-paste-core-bump", "C03"),             # sputter (SCPI)
         "KP": ("product-c-paste-core-bump", "C04"),             # stencil printer (Modbus PLC)
         "KO": ("product-c-paste-core-bump", "C04b"),            # cure oven (Modbus PLC, batch)
         "KE": ("product-b-rdl-recess", "B07")}                  # plater (Modbus PLC + SCPI rectifiers)


def started_on_the_tool(ledger: Ledger, job_id: str) -> bool:
    """The orchestrator has recorded the job as processing (E40 #5): it is mid-step, by the ledger too."""
    return any(e.dest == "PROCESSING" for e in ledger.events("job", job_id))


def test_kill_9_mid_step_in_several_lots_then_resume(prefect_server, sim_line_file, db_url):
    sim, line_file = sim_line_file
    kills = KILLS if db_url.startswith("sqlite") else {k: KILLS[k] for k in ("KP", "KO")}   # time: 2 on PG
    env = cli_env(PREFECT_API_URL=prefect_server, BUMPLINE_DB_URL=db_url)
    jobs = {lot: f"{lot}.{step}.r0" for lot, (_, step) in kills.items()}
    for tool in sim.tools:      # each step to kill stays PROCESSING on its tool until released: no race
        sim.call(sim.inject, tool, "stall", job=",".join(jobs.values()), persistent=True)
    procs = {lot: spawn("lot", "start", "--route", f"{ROUTES}{route}.yaml", "--lot", lot, "--wafers", "1",
                        "--line", line_file, env=env)
             for lot, (route, _) in kills.items()}
    ledger = Ledger(db_url)
    for lot, proc in procs.items():                       # kill each orchestrator while its step runs
        wait_until(lambda lot=lot, proc=proc: job_processing(sim, jobs[lot]) and started_on_the_tool(ledger, jobs[lot])
                   or proc.poll() is not None, 180, f"{jobs[lot]} processing")
        assert proc.poll() is None, proc.stdout.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert job_processing(sim, jobs[lot]), f"{jobs[lot]} ended before its orchestrator died: not mid-step"
    for tool in sim.tools:
        sim.call(sim.clear, tool, "stall")
    assert {ledger.lot(lot).status for lot in kills} == {"RUNNING"}
    out = cli("resume", "--line", line_file, env=env, timeout=230)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("marked Crashed") == len(kills)         # Prefect is told what happened to the dead runs
    for lot, (_route, killed_at) in kills.items():
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
def misaligned_printer(prefect_server, sim_line_file, sqlite_url):
    """The line with SP01 misaligning every print (a hold at C04), a fresh ledger, the CLI's env."""
    sim, line_file = sim_line_file
    db = sqlite_url
    env = cli_env(PREFECT_API_URL=prefect_server, BUMPLINE_DB_URL=db)
    sim.call(sim.inject, "SP01", "misalignment", um=45, persistent=True)
    return line_file, db, env


def test_a_paused_hold_is_answered_from_the_cli(misaligned_printer):
    line_file, db, env = misaligned_printer
    lot = spawn("lot", "start", "--route", f"{ROUTES}product-c-paste-core-bump.yaml", "--lot", "H1",
                "--wafers", "1", "--hold-timeout", "300", "--line", line_file, env=env)
    ledger = Ledger(db)
    from line.holds import NotYetWaiting, waiting_flow_run

    def paused_on_hold() -> bool:
        try:
            return waiting_flow_run(ledger, "H1") is not None
        except NotYetWaiting:                     # its orchestrator holds the lot, not paused yet
            return False
    wait_until(paused_on_hold, 150, "H1 paused on its hold", poll_s=0.5)
    bad = cli("lot", "answer", "H1", "--decision", "redo", "--operator", "op-9", env=env)
    assert bad.returncode == 1 and "must be one of" in bad.stderr
    ok = cli("lot", "answer", "H1", "--decision", "rework", "--operator", "op-9", "--note", "SP01 fiducials", env=env)
    assert ok.returncode == 0 and "sent 'rework'" in ok.stdout, ok.stdout + ok.stderr
    assert lot.wait(200) == 0, lot.stdout.read()
    hold = ledger.holds("H1")[0]
    assert (hold.reason_type, hold.decision, hold.decided_by, hold.note) == ("ALARM", "rework", "op-9", "SP01 fiducials")
    c04 = [(r.rework, r.tool_id, r.status) for r in ledger.step_runs("H1") if r.step_id == "C04"]
    assert c04 == [(0, "SP01", "ON_HOLD"), (1, "SP02", "COMPLETE")]
    ledger.dispose()


def test_a_hold_nobody_waits_on_is_answered_into_the_ledger_then_resumed(misaligned_printer):
    line_file, db, env = misaligned_printer
    first = cli("lot", "start", "--route", f"{ROUTES}product-c-paste-core-bump.yaml", "--lot", "H2",
                 "--wafers", "1", "--line", line_file, env=env, timeout=180)
    assert first.returncode == 3 and "H2 ON_HOLD" in first.stdout, first.stdout + first.stderr
    answer = cli("lot", "answer", "H2", "-d", "rework", "-o", "op-3", env=env)
    assert answer.returncode == 0 and "recorded 'rework'" in answer.stdout, answer.stdout + answer.stderr
    again = cli("lot", "answer", "H2", "-d", "continue", "-o", "op-3", env=env)
    assert again.returncode == 1 and "no open hold" in again.stderr
    resumed = cli("resume", "--line", line_file, env=env, timeout=180)
    assert resumed.returncode == 0 and "H2 COMPLETE" in resumed.stdout, resumed.stdout + resumed.stderr
    ledger = Ledger(db)
    c04 = [(r.rework, r.tool_id, r.status) for r in ledger.step_runs("H2") if r.step_id == "C04"]
    assert c04 == [(0, "SP01", "ON_HOLD"), (1, "SP02", "COMPLETE")]
    assert ledger.holds("H2")[0].decided_by == "op-3"
    ledger.dispose()
