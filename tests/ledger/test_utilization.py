"""E10 time in state from the ledger's tool events, on SQLite and PostgreSQL."""
from datetime import UTC, datetime, timedelta

import pytest

from line.ledger import Ledger
from line.ledger import models as m
from line.utilization import e10_report

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_time_in_each_e10_state_over_a_window(db_url):
    ledger = Ledger(db_url)
    with ledger.session() as s:
        for minute, tool, dest, trigger in [
            (-30, "PVD01", "IDLE", "connect"),             # before the window: the state it starts in
            (10, "PVD01", "EXECUTING_DEPOSIT", "start"),
            (40, "PVD01", "ALARM", "alarm"),
            (45, "PVD01", "LEASED", "acquire"),             # lease bookkeeping: not a tool state
            (50, "PVD01", "IDLE", "clear"),
            (70, "PVD01", "", "disconnect"),               # the host hung up: the tool stays IDLE
            (30, "PVD02", "IDLE", "connect"),              # first seen in the window
        ]:
            s.add(m.Event(entity="tool", entity_id=tool, source="", dest=dest, trigger=trigger, at=at(minute)))
    pvd01, pvd02 = e10_report(ledger, ["PVD01", "PVD02"], at(0), at(120))
    assert pvd01.seconds["STANDBY"] == pytest.approx((10 + 70) * 60)
    assert pvd01.seconds["PRODUCTIVE"] == pytest.approx(30 * 60)
    assert pvd01.seconds["UNSCHEDULED_DOWNTIME"] == pytest.approx(10 * 60)
    assert pvd01.uptime_pct == pytest.approx(110 / 120 * 100) and pvd01.utilization_pct == pytest.approx(25)
    assert pvd02.seconds["NON_SCHEDULED"] == pytest.approx(30 * 60)        # not in service before its first event
    assert pvd02.operations_s == pytest.approx(90 * 60) and pvd02.utilization_pct == 0
    ledger.dispose()
