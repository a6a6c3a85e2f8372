"""The dispatch queue on a real ledger (SQLite and PostgreSQL), steps waiting in threads as lots do:
a released tool goes to the best-ranked waiting step, whatever order they poll in; a step of a lot
whose orchestrator is gone never blocks the tool; a queue-time limit that runs out while waiting
withdraws the step with the reason."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from line.dispatch_queue import QueueTimeExceeded, Request, claim
from line.leases import released
from line.ledger import Ledger
from line.ledger import models as m
from tests.support import wait_until


def waiting(ledger: Ledger) -> list[str]:
    with ledger.session() as s:
        return [r.lot_id for r in s.query(m.DispatchRequest).filter_by(state="WAITING")]


def lots(ledger: Ledger, *ids: str) -> None:
    for lot in ids:
        ledger.ensure_lot(lot, 1)
        assert ledger.acquire_lease(f"lot:{lot}", f"orchestrator-of-{lot}", 60)


def test_a_released_tool_goes_to_the_best_ranked_waiting_step(db_url):
    ledger = Ledger(db_url)
    lots(ledger, "LA", "LB", "LC")
    assert ledger.acquire_lease("T1", "a-running-step", 60)
    got: list[str] = []

    def step(lot: str, priority: int) -> None:
        with claim(ledger, Request(f"{lot}.S1.r0", lot, "S1", "sputter", ("T1",), priority=priority)):
            got.append(lot)
            time.sleep(0.05)

    threads = []
    for lot, priority in (("LA", 0), ("LB", 5), ("LC", 0)):      # LB has priority; LA came before LC
        threads.append(threading.Thread(target=step, args=(lot, priority)))
        threads[-1].start()
        wait_until(lambda lot=lot: lot in waiting(ledger), 10, f"{lot} in the queue")
    ledger.release_lease("T1", "a-running-step")
    released.notify()
    for t in threads:
        t.join(30)
    assert got == ["LB", "LA", "LC"]
    assert waiting(ledger) == [] and ledger.lease_holder("T1") is None
    ledger.dispose()


def test_a_step_whose_orchestrator_is_gone_never_blocks_the_tool(db_url):
    ledger = Ledger(db_url)
    ledger.ensure_lot("DEAD", 1)
    assert ledger.acquire_lease("lot:DEAD", "orchestrator-of-DEAD", 0.01)     # lapses at once, never renewed
    with ledger.session() as s:                                              # its step was queued, high priority
        s.add(m.DispatchRequest(holder="DEAD.S1.r0", lot_id="DEAD", step_id="S1", kind="sputter",
                                tools={"ids": ["T1"]}, priority=9, state="WAITING"))
    lots(ledger, "LIVE")
    time.sleep(0.05)
    t0 = time.monotonic()
    with claim(ledger, Request("LIVE.S1.r0", "LIVE", "S1", "sputter", ("T1",))) as grant:
        assert grant.tool_id == "T1" and not grant.leader and time.monotonic() - t0 < 5
    ledger.dispose()


def test_a_queue_time_limit_running_out_while_waiting_withdraws_the_step_with_why(db_url):
    ledger = Ledger(db_url)
    lots(ledger, "LQ")
    assert ledger.acquire_lease("T1", "a-long-step", 60)
    due = m.utcnow() + timedelta(seconds=0.5)
    request = Request("LQ.S2.r0", "LQ", "S2", "plater", ("T1",), due_at=due, limit_s=0.5,
                      due_text="S2 must start within 24 h of S1's end (Cu seed oxidises)")
    with pytest.raises(QueueTimeExceeded, match="Cu seed oxidises"), claim(ledger, request):
        pytest.fail("the tool was never free")
    assert waiting(ledger) == [] and ledger.lease_holder("T1") == "a-long-step"
    ledger.dispose()


def test_a_step_a_batch_leader_took_in_as_its_limit_ran_out_follows_the_job_not_a_hold(db_url):
    """The leader's job starts within the limit: the step is in it, so it is never also held QUEUE_TIME."""
    ledger = Ledger(db_url)
    lots(ledger, "LZ")
    assert ledger.acquire_lease("T1", "a-long-step", 60)
    due = m.utcnow() + timedelta(seconds=0.5)
    request = Request("LZ.S2.r0", "LZ", "S2", "oven", ("T1",), due_at=due, limit_s=0.5, due_text="paste open time")
    got = []

    def step() -> None:
        with claim(ledger, request) as grant:
            got.append(grant)

    t = threading.Thread(target=step)
    t.start()
    wait_until(lambda: "LZ" in waiting(ledger), 10, "LZ in the queue")
    with ledger.session() as s:          # a leader on T2 takes it into its job, just before the limit
        s.query(m.DispatchRequest).filter_by(holder="LZ.S2.r0").update({"state": "BATCHED", "tool_id": "T2",
                                                                       "batch_of": "LEAD.S2.r0"})
    t.join(10)
    assert [(g.tool_id, g.leader) for g in got] == [("T2", "LEAD.S2.r0")]
    ledger.dispose()


def test_a_tool_whose_dead_holder_left_its_step_running_goes_back_to_that_step_only(db_url):
    """Killed mid-job: the lease lapses but the job — and its results, which a PLC keeps for one
    job only — is on the tool until the step is resumed there. Another lot's step (even one ranked
    ahead) is never given the tool meanwhile; the resumed step is. Once the step has ended, the
    tool is free again."""
    from line.dispatch_queue import _file, _read_assignment

    ledger = Ledger(db_url)
    lots(ledger, "KO", "KP")
    run = ledger.begin_step("KO", "C04b", "oven", "CURE01", "cure", 1, "h", "KO.C04b.r0")
    assert ledger.acquire_lease("CURE01", "KO.C04b.r0", 0.01)                 # its orchestrator died: it lapses
    time.sleep(0.05)
    _file(ledger, Request("KP.C04b.r0", "KP", "C04b", "oven", ("CURE01",), priority=9))
    assert _read_assignment(ledger)[0] == {}                                  # not to another lot
    _file(ledger, Request("KO.C04b.r0", "KO", "C04b", "oven", ("CURE01",)))   # the resume asks
    assert _read_assignment(ledger)[0] == {"KO.C04b.r0": "CURE01"}
    ledger.finish_step(run.id, "COMPLETE")
    with ledger.session() as s:
        s.query(m.DispatchRequest).filter_by(holder="KO.C04b.r0").delete()
    assert _read_assignment(ledger)[0] == {"KP.C04b.r0": "CURE01"}
    ledger.dispose()


def test_a_tool_let_go_inside_its_claim_goes_to_the_next_step_at_once_and_is_released_once(db_url):
    """`Grant.let_go` frees the tool while the holder's block still runs (its records): the next
    waiting step gets it then, and the block's end releases nothing more (one release event)."""
    ledger = Ledger(db_url)
    lots(ledger, "LA", "LB")
    got: list[str] = []
    records_written = threading.Event()

    def next_step() -> None:
        with claim(ledger, Request("LB.S1.r0", "LB", "S1", "sputter", ("T1",))):
            got.append("LB" if not records_written.is_set() else "LB after LA's records")

    with claim(ledger, Request("LA.S1.r0", "LA", "S1", "sputter", ("T1",))) as grant:
        waiter = threading.Thread(target=next_step)
        waiter.start()
        wait_until(lambda: "LB" in waiting(ledger), 10, "LB in the queue")
        assert grant.let_go is not None
        grant.let_go()
        wait_until(lambda: got == ["LB"], 30, "LB granted T1 while LA still writes its records")
        records_written.set()
    waiter.join(30)
    releases = [e for e in ledger.events("tool", "T1") if e.trigger == "release" and e.data["holder"] == "LA.S1.r0"]
    assert len(releases) == 1 and ledger.lease_holder("T1") is None
    ledger.dispose()


def test_a_step_never_begun_does_not_ask_whether_its_own_new_lease_keeps_a_job(db_url):
    """The check after taking a tool (is it still this step's?) counts the step's own new lease free.
    A resumed step may have its job on that tool, so whether its run is RUNNING is asked — and the tool
    is kept for it even when another step ranks ahead; a step never begun has no job anywhere, so
    the question is not asked (one read fewer at every step) and the answer is the same."""
    from sqlalchemy import event

    from line.dispatch_queue import _file, _still_assigned

    ledger = Ledger(db_url)
    lots(ledger, "NB", "RS", "HI")
    asked: list[str] = []
    event.listen(ledger.engine, "before_cursor_execute",
                 lambda *a: asked.append(a[2]) if "FROM step_runs" in a[2] else None)
    fresh = Request("NB.S1.r0", "NB", "S1", "sputter", ("T1",))
    _file(ledger, fresh)
    assert ledger.acquire_lease("T1", fresh.holder, 60)
    assert _still_assigned(ledger, fresh, "T1") and asked == []
    ledger.release_lease("T1", fresh.holder)

    ledger.begin_step("RS", "S1", "sputter", "T2", "seed", 1, "h", "RS.S1.r0")     # begun before a crash
    asked.clear()
    resumed = Request("RS.S1.r0", "RS", "S1", "sputter", ("T2",), begun=True)
    _file(ledger, resumed)
    _file(ledger, Request("HI.S1.r0", "HI", "S1", "sputter", ("T2",), priority=9))  # ranks ahead of it
    assert ledger.acquire_lease("T2", resumed.holder, 60)
    assert _still_assigned(ledger, resumed, "T2") and len(asked) == 1          # kept for its own job
    ledger.dispose()
