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
    assert pvd01.unobserved_s == 0 and pvd01.observed_s == pytest.approx(120 * 60)
    # before its first event the ledger knew nothing of PVD02: unobserved, not non-scheduled
    assert pvd02.unobserved_s == pytest.approx(30 * 60) and pvd02.seconds["NON_SCHEDULED"] == 0
    assert pvd02.operations_s == pytest.approx(90 * 60) and pvd02.utilization_pct == 0
    ledger.dispose()


def test_a_tool_seen_for_an_hour_of_a_day_is_judged_on_that_hour(db_url):
    """The timeline that read "NST 100 %, uptime 100 %": a tool first seen 60 min before the end of a
    24 h window, 20 min productive, 5 min in an alarm, the rest standby."""
    from line.dashboard import window_shares

    ledger = Ledger(db_url)
    with ledger.session() as s:
        for minute, dest, trigger in [(0, "IDLE", "connect"), (10, "EXECUTING_DEPOSIT", "start"),
                                      (30, "ALARM", "alarm"), (35, "IDLE", "clear"), (36, "", "disconnect")]:
            s.add(m.Event(entity="tool", entity_id="PVD01", source="", dest=dest, trigger=trigger, at=at(minute)))
    (row,) = e10_report(ledger, ["PVD01"], at(60) - timedelta(hours=24), at(60))
    assert row.unobserved_s == pytest.approx(23 * 3600) and row.observed_s == pytest.approx(3600)
    shares = dict(zip(["PRD", "SBY", "ENG", "SDT", "UDT", "NST"], window_shares(row), strict=True))
    assert shares["PRD"] == pytest.approx(100 * 20 / 60) and shares["UDT"] == pytest.approx(100 * 5 / 60)
    assert shares["SBY"] == pytest.approx(100 * 35 / 60) and shares["NST"] == 0
    assert row.uptime_pct == pytest.approx(100 * 55 / 60) and row.utilization_pct == pytest.approx(100 * 20 / 60)
    (never,) = e10_report(ledger, ["PVD02"], at(0), at(60))
    assert never.observed_s == 0 and never.unobserved_s == pytest.approx(3600) and never.uptime_pct == 0
    ledger.dispose()
