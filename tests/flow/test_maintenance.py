"""Maintenance as operator actions on the simulated line: a consumable restarted is told to the tool
over its protocol and recorded with who and when (refused while a job holds the tool); a tool taken
down keeps lots off it until it is brought up; E10 counts a down in its state (a hand-made timeline)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from line.config import load_line
from line.ledger import Ledger
from line.ledger import models as m
from line.lot_flow import drive_lot
from line.maintenance import MaintenanceRefused, bring_up, history, open_down, perform, take_down
from line.utilization import e10_report
from tests.support import ROOT, simulated, write_line

pytestmark = pytest.mark.prefect

SEED = str(ROOT / "recipes/routes/engineering/seed-check.yaml")


@pytest.fixture
def sim():
    with simulated(("PVD01", "sputter"), ("PVD02", "sputter"), ("MET01", "metrology"), speed=3000) as line:
        yield line


def line_file(sim, tmp_path):
    path = write_line(tmp_path / "line.yaml", {t: sim.ports()[t] for t in ("PVD01", "PVD02")})
    met = sim.ports()["MET01"]
    path.write_text(path.read_text() + f"  - id: MET01\n    kind: metrology\n    address: TCPIP0::127.0.0.1::{met}::SOCKET\n")
    return path


def test_a_target_change_is_told_to_the_tool_and_recorded_but_not_under_a_running_job(sim, tmp_path, sqlite_url):
    line = load_line(line_file(sim, tmp_path))
    ledger = Ledger(sqlite_url)
    sim.call(lambda: sim.tools["PVD01"].target_kwh.update(Cu=640.0))
    assert ledger.acquire_lease("PVD01", "L7.S1.r0", 60)                   # a lot's job holds the tool
    with pytest.raises(MaintenanceRefused, match="PVD01 is held by L7.S1.r0: target-change is told when it is free"):
        perform(ledger, line.tool("PVD01"), "target-change", "tech-bo", item="Cu")
    ledger.release_lease("PVD01", "L7.S1.r0")
    with pytest.raises(MaintenanceRefused, match="target-change needs the material"):
        perform(ledger, line.tool("PVD01"), "target-change", "tech-bo")
    with pytest.raises(MaintenanceRefused, match="needs who does it"):
        perform(ledger, line.tool("PVD01"), "target-change", " ", item="Cu")
    row = perform(ledger, line.tool("PVD01"), "target-change", "tech-bo", "new Cu target, lot 4471", item="Cu")
    assert sim.tools["PVD01"].target_kwh["Cu"] == 0.0 and ledger.lease_holder("PVD01") is None
    (last,) = history(ledger, "PVD01")
    assert (last.id, last.action, last.item, last.by, last.note) == (row.id, "target-change", "Cu", "tech-bo",
                                                                     "new Cu target, lot 4471")
    ledger.dispose()


def test_a_tool_taken_down_gets_no_lot_until_it_is_brought_up(prefect_server, sim, tmp_path, sqlite_url):
    path = line_file(sim, tmp_path)
    ledger = Ledger(sqlite_url)
    down = take_down(ledger, "PVD01", "scheduled", "eng-anna", "chamber clean")
    with pytest.raises(MaintenanceRefused, match=r"PVD01 is already down \(scheduled\) by eng-anna"):
        take_down(ledger, "PVD01", "engineering", "eng-anna")
    assert drive_lot("M1", SEED, 2, str(path), str(ROOT / "recipes"), db_url=sqlite_url)["status"] == "COMPLETE"
    assert [r.tool_id for r in ledger.step_runs("M1") if r.step_id == "E01"] == ["PVD02"]
    # technicians work while it is down: a maintenance action is allowed under the down
    perform(ledger, load_line(path).tool("PVD01"), "target-change", "tech-bo", item="Ti")
    up = bring_up(ledger, "PVD01", "eng-anna", "clean done")
    assert up.id == down.id and up.ended_by == "eng-anna" and open_down(ledger, "PVD01") is None
    assert ledger.lease_holder("PVD01") is None
    assert drive_lot("M2", SEED, 2, str(path), str(ROOT / "recipes"), db_url=sqlite_url)["status"] == "COMPLETE"
    assert [r.tool_id for r in ledger.step_runs("M2") if r.step_id == "E01"] == ["PVD01"]     # least used again
    with pytest.raises(MaintenanceRefused, match="PVD01 is not down"):
        bring_up(ledger, "PVD01", "eng-anna")
    ledger.dispose()


def test_e10_counts_a_down_in_its_state_and_an_alarm_inside_it_as_unscheduled(sqlite_url):
    ledger = Ledger(sqlite_url)
    t0 = m.utcnow() - timedelta(hours=2)
    with ledger.session() as s:
        s.add(m.Event(entity="tool", entity_id="EP01", source="", dest="IDLE", trigger="poll", at=t0))
        s.add(m.Maintenance(tool_id="EP01", action="down", e10="SCHEDULED_DOWNTIME", by="eng-anna",
                            started_at=t0 + timedelta(minutes=10), ended_at=t0 + timedelta(minutes=40), ended_by="eng-anna"))
        s.add(m.Alarm(tool_id="EP01", alid=8003, name="COMPLIANCE", text="x", raised_at=t0 + timedelta(minutes=30),
                      cleared_at=t0 + timedelta(minutes=35)))
        s.add(m.Maintenance(tool_id="EP01", action="down", e10="ENGINEERING", by="eng-anna",
                            started_at=t0 + timedelta(minutes=50)))          # still down at the window's end
    (row,) = e10_report(ledger, ["EP01"], t0, t0 + timedelta(minutes=60))
    minutes = {k: round(v / 60, 3) for k, v in row.seconds.items() if v}
    assert minutes == {"STANDBY": 20.0, "SCHEDULED_DOWNTIME": 25.0, "UNSCHEDULED_DOWNTIME": 5.0, "ENGINEERING": 10.0}
    assert row.uptime_pct == pytest.approx(100 * 30 / 60)                      # SBY + ENG of operations time
    ledger.dispose()


def test_the_maintain_tool_form_records_takes_down_and_refuses_with_a_named_state(prefect_server, sim, tmp_path,
                                                                                 sqlite_url, monkeypatch):
    from line.operate import maintain_tool

    monkeypatch.setenv("BUMPLINE_LINE", str(line_file(sim, tmp_path)))
    monkeypatch.setenv("BUMPLINE_DB_URL", sqlite_url)
    assert maintain_tool(tool="PVD02", action="down-unscheduled", by="op-kim", note="water leak")["action"] == \
        "down-unscheduled"
    refused = maintain_tool(tool="PVD02", action="bath-replenish", by="op-kim", return_state=True)
    assert refused.name == "Refused" and "sputter: no maintenance action 'bath-replenish'" in refused.message
    unknown = maintain_tool(tool="EP09", action="up", by="op-kim", return_state=True)
    assert unknown.name == "UnknownTool" and "has no tool 'EP09'" in unknown.message
    assert maintain_tool(tool="PVD02", action="up", by="op-kim")["action"] == "up"
    ledger = Ledger(sqlite_url)
    (row,) = history(ledger, "PVD02")
    assert (row.e10, row.by, row.ended_by, row.note) == ("UNSCHEDULED_DOWNTIME", "op-kim", "op-kim", "water leak")
    ledger.dispose()


def test_the_tool_commands_as_a_technician_uses_them(sim, tmp_path, sqlite_url):
    from tests.support import cli, cli_env

    env = cli_env(BUMPLINE_DB_URL=sqlite_url, BUMPLINE_HOME=str(tmp_path), BUMPLINE_LINE=str(line_file(sim, tmp_path)))
    sim.call(lambda: sim.tools["PVD01"].target_kwh.update(Ti=77.0))
    done = cli("tool", "maintain", "PVD01", "target-change", "Ti", "--by", "tech-bo", "--note", "Ti target", env=env)
    assert done.returncode == 0 and "PVD01: target-change Ti by tech-bo, told to the tool" in done.stdout, done.stderr
    assert sim.tools["PVD01"].target_kwh["Ti"] == 0.0
    wrong = cli("tool", "maintain", "PVD01", "stencil-wipe", "--by", "tech-bo", env=env)
    assert wrong.returncode == 1 and "no maintenance action 'stencil-wipe' (its actions: target-change)" in wrong.stderr
    assert cli("tool", "down", "PVD09", "--kind", "scheduled", "--by", "x", env=env).returncode == 1
    bad = cli("tool", "down", "PVD02", "--kind", "lunch", "--by", "eng-anna", env=env)
    assert bad.returncode == 1 and "a down is one of scheduled, unscheduled, engineering" in bad.stderr
    assert cli("tool", "down", "PVD02", "--kind", "engineering", "--by", "eng-anna", env=env).returncode == 0
    status = cli("status", "--json", env=env)
    tools = {t["tool_id"]: t for t in json.loads(status.stdout)["tools"]}
    assert (tools["PVD02"]["state"], tools["PVD02"]["e10"]) == ("DOWN", "ENGINEERING"), status.stdout
    assert cli("tool", "up", "PVD02", "--by", "eng-anna", env=env).returncode == 0
    rows = json.loads(cli("tool", "history", "--json", env=env).stdout)
    assert [(r["tool"], r["action"]) for r in rows] == [("PVD02", "down"), ("PVD01", "target-change")]
