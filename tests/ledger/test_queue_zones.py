"""Queue-time zone control on a real ledger (SQLite and PostgreSQL): product C's paste print opens a
4 h zone that its cure must close; it is not started while both cure ovens are expected busy past
most of that window (their running jobs' expected ends, recorded with each start), and it is as
soon as one is expected free in time."""
from __future__ import annotations

from datetime import timedelta

from line.ledger import Ledger
from line.ledger import models as m
from line.plan import load_plan
from line.queue_zones import OPEN_SHARE, zone_closed, zones_opened
from tests.support import ROOT

ROUTE = ROOT / "recipes/routes/product-c-paste-core-bump.yaml"
LINE = ROOT / "deploy/lines/sim.yaml"


def busy(ledger: Ledger, tool: str, lot: str, ends_in_s: float) -> None:
    """`tool` runs a job of `lot`, started now, expected to end in `ends_in_s` wall seconds."""
    ledger.ensure_lot(lot, 1)
    assert ledger.acquire_lease(tool, f"{lot}.X.r0", 600)
    run = ledger.begin_step(lot, "X", "oven", tool, "pass-pi-cure-350", 1, "h", f"{lot}.X.r0")
    ledger.record_event("job", f"{lot}.X.r0", "", "", "start-sent", run.id, {"tool": tool, "expected_s": ends_in_s})


def test_a_print_waits_before_its_zone_while_no_cure_oven_could_take_the_lot_in_time(db_url):
    plan = load_plan(str(ROUTE), str(LINE), str(ROOT / "recipes"))
    print_step = plan.step("C04")
    (zone,) = zones_opened(plan, print_step, 5)
    assert zone.closes == "C04b" and zone.max_h == 4 and set(zone.tools) == {"CURE01", "CURE02"}
    ledger = Ledger(db_url)
    assert zone_closed(ledger, plan, print_step, 5, m.utcnow()) is None          # both ovens free
    busy(ledger, "CURE01", "PI-1", ends_in_s=2 * zone.limit_s)
    busy(ledger, "CURE02", "PI-2", ends_in_s=2 * zone.limit_s)
    why = zone_closed(ledger, plan, print_step, 5, m.utcnow())
    assert why is not None and "C04b must start within 4 h of C04's end" in why and "CURE01/CURE02" in why
    ledger.release_lease("CURE02", "PI-2.X.r0")                                   # one oven frees up
    assert zone_closed(ledger, plan, print_step, 5, m.utcnow()) is None
    ledger.dispose()


def test_lots_already_in_the_zone_ahead_of_it_count(db_url):
    plan = load_plan(str(ROUTE), str(LINE), str(ROOT / "recipes"))
    print_step = plan.step("C04")
    (zone,) = zones_opened(plan, print_step, 5)
    ledger = Ledger(db_url)
    busy(ledger, "CURE01", "PI-1", ends_in_s=0.3 * zone.limit_s)
    busy(ledger, "CURE02", "PI-2", ends_in_s=0.3 * zone.limit_s)
    assert zone_closed(ledger, plan, print_step, 5, m.utcnow()) is None
    with ledger.session() as s:      # four lots printed earlier wait for the ovens, each a cure ahead of ours
        for i in range(4):
            s.add(m.DispatchRequest(holder=f"Z{i}.C04b.r0", lot_id=f"Z{i}", step_id="C04b", kind="oven",
                                    tools={"ids": ["CURE01", "CURE02"]}, state="WAITING",
                                    due_at=m.utcnow() + timedelta(seconds=zone.limit_s * 0.5), limit_s=zone.limit_s))
    assert zone.job_s * 2 > (OPEN_SHARE - 0.3) * zone.limit_s       # two cures a tool ahead: too late
    assert zone_closed(ledger, plan, print_step, 5, m.utcnow()) is not None
    ledger.dispose()
