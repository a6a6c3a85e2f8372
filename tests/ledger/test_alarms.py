"""An alarm stays open — the tool down in the line view and in E10 — until the tool itself reports
it cleared; an operator's acknowledgement is recorded with who, when and why, and changes nothing
else. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from drivers.jobs import Alarm
from line.config import LineConfig
from line.dashboard import tool_rows
from line.ledger import Ledger
from line.ledger import models as m
from line.utilization import e10_report

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def line_of(*tools: str) -> LineConfig:
    return LineConfig.model_validate({"apiVersion": "bumpline/v1", "kind": "Line", "metadata": {"name": "t"},
                                      "tools": [{"id": t, "kind": "stencil_printer", "address": "TCPIP0::127.0.0.1::1::SOCKET"}
                                                for t in tools]})


def test_acknowledging_records_who_and_leaves_the_tool_down_until_it_reports_clear(db_url):
    ledger = Ledger(db_url)
    with ledger.session() as s:
        s.add(m.Event(entity="tool", entity_id="SP01", source="ALARM", dest="IDLE", trigger="clear"))  # the job ended
    ledger.record_alarm("SP01", Alarm(7001, "MISALIGNMENT", "offset 46 µm", "J1", "W.01", 12.0), None)
    (row,) = tool_rows(ledger, line_of("SP01"))
    assert (row.state, row.e10) == ("ALARM", "UNSCHEDULED_DOWNTIME") and "not acknowledged" in row.last_alarm

    (acked,) = ledger.acknowledge_alarms("SP01", "ana", note="fiducials dirty, cleaning")
    assert (acked.acknowledged_by, acked.ack_note) == ("ana", "fiducials dirty, cleaning") and acked.acknowledged_at
    (row,) = tool_rows(ledger, line_of("SP01"))
    assert row.e10 == "UNSCHEDULED_DOWNTIME" and "ack by ana" in row.last_alarm          # still down
    assert [a.alid for a in ledger.open_alarms("SP01")] == [7001]

    assert ledger.alarms_cleared("SP01") == 1                  # the tool reported no alarm
    (row,) = tool_rows(ledger, line_of("SP01"))
    assert (row.state, row.e10) == ("IDLE", "STANDBY") and "(cleared)" in row.last_alarm
    assert ledger.open_alarms() == [] and ledger.alarms_cleared("SP01") == 0
    trail = [(e.dest, e.trigger) for e in ledger.events("alarm", "SP01")]
    assert trail == [("ACKNOWLEDGED", "acknowledge"), ("CLEARED", "tool-report")]
    ledger.dispose()


def test_time_with_an_open_alarm_is_unscheduled_downtime_whatever_the_driver_said(db_url):
    ledger = Ledger(db_url)
    with ledger.session() as s:
        for minute, dest, trigger in [(0, "IDLE", "connect"), (10, "EXECUTING_PRINT", "start"),
                                      (30, "ALARM", "alarm"), (35, "IDLE", "clear")]:   # the mirror idles at 35
            s.add(m.Event(entity="tool", entity_id="SP01", source="", dest=dest, trigger=trigger, at=at(minute)))
        s.add(m.Alarm(tool_id="SP01", alid=7001, name="MISALIGNMENT", text="", raised_at=at(30), cleared_at=at(50)))
    (row,) = e10_report(ledger, ["SP01"], at(0), at(60))
    assert row.seconds["PRODUCTIVE"] == pytest.approx(20 * 60)
    assert row.seconds["UNSCHEDULED_DOWNTIME"] == pytest.approx(20 * 60)     # 30 → 50: the alarm, not standby
    assert row.seconds["STANDBY"] == pytest.approx(20 * 60)                  # 0 → 10 and 50 → 60
    ledger.dispose()


def test_alarms_list_and_ack_from_the_cli(sqlite_url, monkeypatch):
    import json

    from typer.testing import CliRunner

    from line.cli import app

    monkeypatch.setenv("BUMPLINE_DB_URL", sqlite_url)
    ledger = Ledger(sqlite_url)
    ledger.record_alarm("SP01", Alarm(7001, "MISALIGNMENT", "offset 46 µm", "J1", "W.01", 12.0), None)
    runner = CliRunner()
    (listed,) = json.loads(runner.invoke(app, ["alarms", "list", "--json"]).stdout)
    assert (listed["tool"], listed["alid"], listed["cleared"], listed["acknowledged_by"]) == ("SP01", 7001, None, None)
    done = runner.invoke(app, ["alarms", "ack", "SP01", "--operator", "ana", "--note", "cleaning"])
    assert done.exit_code == 0 and "stays open until SP01 reports it cleared" in done.stdout
    (listed,) = json.loads(runner.invoke(app, ["alarms", "list", "--json"]).stdout)
    assert (listed["acknowledged_by"], listed["note"], listed["cleared"]) == ("ana", "cleaning", None)
    nothing = runner.invoke(app, ["alarms", "ack", "PVD01", "--operator", "ana"])
    assert nothing.exit_code == 1 and "PVD01 has no open alarm" in nothing.stderr
    ledger.dispose()
