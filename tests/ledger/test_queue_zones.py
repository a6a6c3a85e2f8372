"""Queue-time zone control on a real ledger (SQLite and PostgreSQL): product C's paste print opens a
4 h zone that its cure must close; it is not started while both cure ovens are expected busy past
most of that window (their running jobs' expected ends, recorded with each start), and it is as
soon as one is expected free in time."""
from __future__ import annotations

import time
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


def test_the_step_after_a_zone_holds_its_oven_from_a_step_in_none_while_the_lot_runs_the_step_before(db_url):
    """The race seen under load: the print was let through with CURE02 free, a polyimide cure (in no
    zone) took CURE02 while the paste was printed, and the paste's 4 h ran out behind it."""
    from line.dispatch_queue import Request, _file, _read_assignment, unreserve
    from line.queue_zones import closing_next, reserve_next

    plan = load_plan(str(ROUTE), str(LINE), str(ROOT / "recipes"))
    assert closing_next(plan, plan.step("C04")) == plan.step("C04b") and closing_next(plan, plan.step("C03")) is None
    ledger = Ledger(db_url)
    for lot in ("PASTE", "PI"):
        ledger.ensure_lot(lot, 1)
        assert ledger.acquire_lease(f"lot:{lot}", f"orchestrator-of-{lot}", 60)
    busy(ledger, "CURE01", "OTHER", ends_in_s=3600)                  # one oven runs a long job
    reserve_next(ledger, plan, plan.step("C04"), "PASTE", 5, 0, m.utcnow())   # PASTE's print was granted
    pi_cure = Request("PI.D03b.r0", "PI", "D03b", "oven", ("CURE01", "CURE02"))
    _file(ledger, pi_cure)
    assignment, _, _ = _read_assignment(ledger)
    assert "PI.D03b.r0" not in assignment                   # CURE02 is kept for the paste's cure
    (zone,) = zones_opened(plan, plan.step("C04"), 5)
    assert zone_closed(ledger, plan, plan.step("C04"), 5, m.utcnow(), "PASTE") is None   # its own place: not ahead
    _file(ledger, Request("PASTE.C04b.r0", "PASTE", "C04b", "oven", zone.tools,
                          due_at=m.utcnow() + timedelta(seconds=zone.limit_s), limit_s=zone.limit_s))
    assignment, _, _ = _read_assignment(ledger)
    assert assignment == {"PASTE.C04b.r0": "CURE02"}        # the cure itself, not the reservation, gets it
    with ledger.session() as s:
        assert s.query(m.DispatchRequest).filter_by(state="RESERVED").count() == 0   # replaced by the request

    reserve_next(ledger, plan, plan.step("C04"), "PASTE2", 5, 0, m.utcnow())      # a lot held after its print
    unreserve(ledger, "PASTE2")
    with ledger.session() as s:
        assert s.query(m.DispatchRequest).filter_by(state="RESERVED").count() == 0
    ledger.dispose()


def test_a_step_that_read_the_queue_before_a_place_was_held_gives_the_tool_back(db_url):
    """The same race one step later (seen in CI on a slow machine): the polyimide cure read the shared
    board (CURE02 is yours), the paste's place was held, then the cure took CURE02 on that old read.
    Taken, the lease is checked against a fresh read: the place outranks it, so the oven goes back."""
    import threading

    from line.dispatch_queue import Request, _file, _my_tool, claim, unreserve
    from line.leases import released
    from line.queue_zones import reserve_next
    from tests.support import wait_until

    plan = load_plan(str(ROUTE), str(LINE), str(ROOT / "recipes"))
    ledger = Ledger(db_url)
    for lot in ("PASTE", "PI"):
        ledger.ensure_lot(lot, 1)
        assert ledger.acquire_lease(f"lot:{lot}", f"orchestrator-of-{lot}", 60)
    busy(ledger, "CURE01", "OTHER", ends_in_s=3600)
    pi_cure = Request("PI.D03b.r0", "PI", "D03b", "oven", ("CURE01", "CURE02"))
    _file(ledger, pi_cure)
    assert _my_tool(ledger, pi_cure) == "CURE02"                      # the board as the cure read it
    reserve_next(ledger, plan, plan.step("C04"), "PASTE", 5, 0, m.utcnow())   # then PASTE's print was granted
    got: list[str] = []

    def cure() -> None:
        with claim(ledger, pi_cure, ttl_s=60) as grant:
            got.append(grant.tool_id)
    t = threading.Thread(target=cure, daemon=True)
    t.start()
    time.sleep(1.0)                                 # several looks at the queue, each giving CURE02 back
    assert got == [] and ledger.lease_holder("CURE02") is None
    unreserve(ledger, "PASTE")                      # the paste lot was held after all: its place goes
    released.notify()
    wait_until(lambda: got == ["CURE02"], 15, "the polyimide cure gets CURE02 once the place is gone")
    t.join(5)
    ledger.dispose()


def test_a_place_is_due_at_the_earliest_limit_of_the_step_it_holds(db_url):
    """Plating A04 must start within 24 h of the seed (A02, ended an hour ago) and of the mold's
    develop (A03, the step being run): the place is due 24 h after the seed."""
    from line.queue_zones import reserve_next

    plan = load_plan(str(ROOT / "recipes/routes/product-a-spacing-pad-bump.yaml"), str(LINE), str(ROOT / "recipes"))
    ledger = Ledger(db_url)
    ledger.ensure_lot("A", 1)
    seed = ledger.begin_step("A", "A02", "sputter", "PVD01", "seed", 1, "h", "A.A02.r0")
    ledger.finish_step(seed.id, "COMPLETE")
    ended = m.as_utc(ledger.find_step("A", "A02", 0).ended_at)
    reserve_next(ledger, plan, plan.step("A03"), "A", 5, 0, m.utcnow())
    with ledger.session() as s:
        (place,) = s.query(m.DispatchRequest).filter_by(state="RESERVED").all()
    assert place.step_id == "A04" and place.holder == "reserve:A/A04"
    assert abs((m.as_utc(place.due_at) - ended).total_seconds() - 24 * 3600 / plan.clock_speed) < 1
    ledger.dispose()


def test_a_place_past_its_time_or_of_a_dead_lot_blocks_nothing(db_url):
    from line.dispatch_queue import Request, _file, _read_assignment, reservation_of, reserve

    ledger = Ledger(db_url)
    ledger.ensure_lot("LIVE", 1)
    assert ledger.acquire_lease("lot:LIVE", "orchestrator-of-LIVE", 60)
    ledger.ensure_lot("GONE", 1)
    assert ledger.acquire_lease("lot:GONE", "orchestrator-of-GONE", 0.01)      # lapses at once
    reserve(ledger, Request(reservation_of("LIVE", "C04b"), "LIVE", "C04b", "oven", ("CURE01",),
                            due_at=m.utcnow() - timedelta(seconds=1), limit_s=10))   # its time passed
    reserve(ledger, Request(reservation_of("GONE", "C04b"), "GONE", "C04b", "oven", ("CURE01",),
                            due_at=m.utcnow() + timedelta(seconds=60), limit_s=60))
    time.sleep(0.05)
    _file(ledger, Request("LIVE.D03b.r0", "LIVE", "D03b", "oven", ("CURE01",)))
    assert _read_assignment(ledger)[0] == {"LIVE.D03b.r0": "CURE01"}
    ledger.dispose()


def test_a_granted_step_holds_the_next_place_then_asks_its_gate_again_and_gives_the_tool_back_if_it_closed(db_url):
    """Granted → the place after it is held → the gate is asked again (an oven taken since its last
    answer shows): closed now → the place goes, the printer is released, the step waits GATED; open →
    its job starts with the place held."""
    from line.dispatch_queue import Request, claim

    ledger = Ledger(db_url)
    ledger.ensure_lot("P", 1)
    assert ledger.acquire_lease("lot:P", "orchestrator-of-P", 60)
    answers = iter([None, "an oven was taken meanwhile", None, None])
    entered: list[bool] = []
    leased_at_enter: list[bool] = []

    def enter(hold: bool) -> None:
        entered.append(hold)
        leased_at_enter.append(ledger.lease("SP01") is not None)

    request = Request("P.C04.r0", "P", "C04", "stencil_printer", ("SP01",), gate=lambda: next(answers), enter=enter)
    with claim(ledger, request) as grant:
        assert grant.tool_id == "SP01"
    assert entered == [True, False, True] and all(leased_at_enter)   # the place is taken with the tool held
    assert ledger.lease("SP01") is None
    ledger.dispose()
