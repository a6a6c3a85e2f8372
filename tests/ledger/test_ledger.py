"""The ledger on SQLite and PostgreSQL: migrations, idempotent writes, leases."""
from __future__ import annotations

import time

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from drivers.jobs import Alarm, Measurement, WaferResult
from line.ledger import Ledger
from line.ledger import models as m
from line.ledger.database import MIGRATIONS


def test_schema_is_migrated_to_alembic_head(db_url):
    ledger = Ledger(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with ledger.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head
    Ledger(db_url).dispose()  # a second start finds nothing to do
    ledger.dispose()


def test_lot_creation_is_idempotent(db_url):
    ledger = Ledger(db_url)
    first = ledger.ensure_lot("LOT1", 3, product="A")
    again = ledger.ensure_lot("LOT1", 3, product="A")
    assert first == again == ["LOT1.01", "LOT1.02", "LOT1.03"]
    assert [e.dest for e in ledger.events("lot", "LOT1")] == ["CREATED"]
    ledger.dispose()


def test_results_measurements_and_alarms_are_written_once(db_url):
    ledger = Ledger(db_url)
    wafers = ledger.ensure_lot("LOT1", 2)
    run = ledger.begin_step("LOT1", "S1", "sputter", "PVD01", "seed", 1, "ab" * 32, "LOT1.S1.r0")
    assert ledger.begin_step("LOT1", "S1", "sputter", "PVD01", "seed", 1, "ab" * 32, "LOT1.S1.r0").id == run.id
    results = [WaferResult(w, i, "PROCESSED", (Measurement("thickness.Cu", 301.0, "nm", 300.0),)) for i, w in
               enumerate(wafers, 1)]
    assert ledger.record_results(run.id, "PVD01", results) == 2
    assert ledger.record_results(run.id, "PVD01", results) == 0       # a resume replays: nothing doubles
    assert len(ledger.measurements(run.id)) == 2
    assert {w.state for w in ledger.wafers("LOT1")} == {"PROCESSED"}
    alarm = Alarm(2001, "HARD_ARC", "arc", "LOT1.S1.r0", "LOT1.02", 123.4)
    ledger.record_alarm("PVD01", alarm, run.id)
    ledger.record_alarm("PVD01", alarm, run.id)
    assert len(ledger.alarms("LOT1")) == 1
    ledger.open_hold("LOT1", run.id, "ALARM", "PVD01 alarm 2001 HARD_ARC")
    assert ledger.lot("LOT1").status == "ON_HOLD"
    assert ledger.holds("LOT1")[0].reason_type == "ALARM"
    ledger.dispose()


def test_wafer_moves_are_one_update_each_told_once_and_an_unknown_wafer_is_refused(db_url):
    import pytest

    from drivers.errors import UnknownName

    ledger = Ledger(db_url)
    wafers = ledger.ensure_lot("LOT1", 3)
    with ledger.together(), ledger.session() as s:
        held = s.get(m.Wafer, wafers[0])           # an object the block already holds is read again, not believed
        ledger.set_wafer_state(wafers[:2], "IN_PROCESS", "PVD01", "slot-start")
        ledger.move_wafers(wafers, "PVD01", "load")
        assert (held.state, held.location) == ("IN_PROCESS", "PVD01")
    assert [(w.state, w.location) for w in ledger.wafers("LOT1")] == [
        ("IN_PROCESS", "PVD01"), ("IN_PROCESS", "PVD01"), ("NEEDS_PROCESSING", "PVD01")]
    ledger.move_wafers(wafers, "PVD01", "load")                       # already there: nothing to tell
    moves = [e for e in ledger.events("wafer") if e.trigger in ("load", "slot-start")]
    assert sorted((e.entity_id, e.source, e.dest) for e in moves) == sorted(
        [(w, "NEEDS_PROCESSING", "IN_PROCESS") for w in wafers[:2]] + [(wafers[2], "stocker", "PVD01")])
    with pytest.raises(UnknownName, match="LOT1.09"):
        ledger.move_wafers([wafers[0], "LOT1.09"], "stocker", "unload")
    assert ledger.wafers("LOT1")[0].location == "PVD01"               # refused whole: nothing moved
    assert not [e for e in ledger.events("wafer") if e.trigger == "unload"]   # and nothing told
    ledger.dispose()


def test_a_tool_lease_has_one_holder_and_expires(db_url):
    ledger = Ledger(db_url)
    assert ledger.acquire_lease("PVD01", "lot-a", ttl_s=60)
    assert not ledger.acquire_lease("PVD01", "lot-b", ttl_s=60)
    assert ledger.acquire_lease("PVD01", "lot-a", ttl_s=60)             # re-entrant for its holder
    ledger.release_lease("PVD01", "lot-a")
    assert ledger.acquire_lease("PVD01", "lot-b", ttl_s=0.2)
    time.sleep(0.3)                                                     # lot-b "died" without releasing
    assert ledger.acquire_lease("PVD01", "lot-c", ttl_s=60)
    assert ledger.lease_holder("PVD01") == "lot-c"
    taken = [(e.trigger, e.data["holder"]) for e in ledger.events("tool", "PVD01") if e.trigger in ("lapse", "break")]
    assert taken == [("lapse", "lot-b")]                                # who lost it, and how, is recorded
    ledger.dispose()


def test_every_write_is_visible_to_another_connection_at_once(db_url):
    """Each write commits on its own: a kill after it cannot lose it."""
    writer, reader = Ledger(db_url), Ledger(db_url, migrate=False)
    writer.ensure_lot("LOT9", 1)
    writer.record_event("tool", "PVD01", "IDLE", "SETTING_UP", "setup")
    with reader.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from events where entity_id='PVD01'")).scalar() == 1
    writer.dispose(); reader.dispose()


def test_concurrent_first_use_migrates_once(db_url):
    """Lots starting together (threads) and workers starting together (processes) all find the schema."""
    import subprocess
    import sys
    import threading

    from line.ledger.database import head_revision, make_engine, upgrade
    engine = make_engine(db_url)
    upgrade(engine, "0001")              # an older ledger that needs upgrading, with a lot in it
    with engine.begin() as conn:
        conn.execute(sa.text("insert into lots (id, product, route, status, hold_reason, priority, created_at, "
                             "updated_at) values ('OLD1', 'A', 'r@v1', 'COMPLETE', '', 0, :t, :t)"),
                     {"t": "2026-01-01 00:00:00"})
    engine.dispose()
    code = f"from line.ledger import Ledger; Ledger({db_url!r}).dispose()"
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errors: list[Exception] = []

    def start() -> None:
        try:
            Ledger(db_url).dispose()
        except Exception as exc:  # noqa: BLE001 - whatever a racing start raises is the finding
            errors.append(exc)
    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(p.wait(60) == 0 for p in procs), [p.stderr.read() for p in procs]
    engine = make_engine(db_url)
    with engine.connect() as conn:          # one schema at head, migrated once: nothing recreated or lost
        assert conn.execute(sa.text("select version_num from alembic_version")).scalars().all() == [head_revision()]
        assert conn.execute(sa.text("select id, status from lots")).all() == [("OLD1", "COMPLETE")]
    engine.dispose()


def test_resume_releases_the_leases_of_finished_steps_and_lots_only(db_url):
    """An orchestrator killed between a step's COMPLETE commit and its tool-lease release (or a lot's
    COMPLETE and its lot lease) left the lease behind; `release_finished` (run by `bumpline resume`)
    breaks exactly those, and an expired lease counts as free for dispatch."""
    from line.config import ToolConfig
    from line.dispatch import preference
    from line.leases import release_finished

    ledger = Ledger(db_url)
    ledger.ensure_lot("F1", 1)
    done = ledger.begin_step("F1", "S1", "litho", "LITHO01", "r", 1, "h", "F1.S1.r0")
    ledger.finish_step(done.id, "COMPLETE")
    ledger.begin_step("F1", "S2", "litho", "LITHO02", "r", 1, "h", "F1.S2.r0")          # still running
    assert ledger.acquire_lease("LITHO01", "F1.S1.r0", 600) and ledger.acquire_lease("LITHO02", "F1.S2.r0", 600)
    ledger.ensure_lot("F2", 1)
    ledger.set_lot_status("F2", "COMPLETE")
    assert ledger.acquire_lease("lot:F2", "orch-dead", 600) and ledger.acquire_lease("lot:F1", "orch-live", 600)
    released = release_finished(ledger)
    assert sorted(released) == ["LITHO01 (held by F1.S1.r0, step ended COMPLETE)", "lot:F2 (lot COMPLETE)"]
    assert ledger.lease_holder("LITHO01") is None and ledger.lease_holder("lot:F2") is None
    assert ledger.lease_holder("LITHO02") == "F1.S2.r0" and ledger.lease_holder("lot:F1") == "orch-live"
    assert any(e.trigger == "break" for e in ledger.events("tool", "LITHO01"))
    assert release_finished(ledger) == []                                           # idempotent
    # a lease past its expiry is as free as no lease: dispatch does not put that tool last
    assert ledger.acquire_lease("LITHO03", "gone", 0.01)
    time.sleep(0.05)
    tools = [ToolConfig(id=t, kind="litho", address="TCPIP0::127.0.0.1::1::SOCKET") for t in ("LITHO02", "LITHO03")]
    assert preference(ledger, tools) == ["LITHO03", "LITHO02"]
    ledger.dispose()


def test_least_used_counts_the_last_day_of_a_tools_history_not_all_of_it(db_url):
    from datetime import timedelta

    from line.config import ToolConfig
    from line.dispatch import preference

    ledger = Ledger(db_url)
    ledger.ensure_lot("U1", 1)
    for i in range(5):          # LITHO01 was busy last week
        run = ledger.begin_step("U1", f"S{i}", "litho", "LITHO01", "r", 1, "h", f"U1.S{i}.r0")
        with ledger.session() as s:
            s.get(m.StepRun, run.id).started_at = m.utcnow() - timedelta(days=7)
    ledger.begin_step("U1", "T1", "litho", "LITHO02", "r", 1, "h", "U1.T1.r0")      # LITHO02 ran today
    tools = [ToolConfig(id=t, kind="litho", address="TCPIP0::127.0.0.1::1::SOCKET") for t in ("LITHO02", "LITHO01")]
    assert preference(ledger, tools) == ["LITHO01", "LITHO02"]
    ledger.dispose()


def test_dispatch_prefers_tools_that_are_up_then_unflagged_then_free_then_least_used(db_url):
    """Every weight of `preference` in its one statement: an open alarm or a last state of ALARM
    puts a tool last, an SPC flag at this step after the unflagged ones, a live lease after the
    free ones, then use in the last day; each weighed per tool, never mixed up between tools."""
    from drivers.jobs import Alarm
    from line.config import ToolConfig
    from line.dispatch import preference

    ledger = Ledger(db_url)
    ledger.ensure_lot("P1", 1)
    run = ledger.begin_step("P1", "S1", "litho", "T_USED", "r", 1, "h", "P1.S1.r0")
    ledger.record_alarm("T_ALARM", Alarm(2001, "HARD_ARC", "arc"), None)
    ledger.record_event("tool", "T_DOWN", "EXECUTING", "ALARM", "alarm")
    ledger.raise_spc_flag("T_FLAG", "S9", "cd", "P1", run.id, "rule 1")
    ledger.raise_spc_flag("T_FREE", "S0", "cd", "P1", run.id, "rule 1")      # another step's flag: no weight here
    assert ledger.acquire_lease("T_LEASED", "someone", 600)
    ids = ("T_ALARM", "T_DOWN", "T_FLAG", "T_LEASED", "T_USED", "T_FREE")
    tools = [ToolConfig(id=t, kind="litho", address="TCPIP0::127.0.0.1::1::SOCKET") for t in ids]
    order = preference(ledger, tools, "S9")
    assert order[:4] == ["T_FREE", "T_USED", "T_LEASED", "T_FLAG"] and set(order[4:]) == {"T_ALARM", "T_DOWN"}
    assert preference(ledger, tools[3:4]) == ["T_LEASED"] and preference(ledger, []) == []
    ledger.dispose()


def test_the_migrations_build_exactly_the_models(db_url):
    """A column added to a model without a migration (or the other way round) is caught here."""
    from alembic.autogenerate import compare_metadata

    ledger = Ledger(db_url)
    with ledger.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    ledger.dispose()
    assert diffs == []


def test_a_steps_last_attempt_is_its_highest_rework(db_url):
    led = Ledger(db_url)
    led.ensure_lot("LA1", 2)
    assert led.last_attempt("LA1", "S1") is None
    first = led.begin_step("LA1", "S1", "oven", "OV1", "r", 1, "h", "LA1.S1.r0")
    led.finish_step(first.id, "ON_HOLD")
    again = led.begin_step("LA1", "S1", "oven", "OV1", "r", 1, "h", "LA1.S1.r1", rework=1)
    led.begin_step("LA1", "S2", "oven", "OV1", "r", 1, "h", "LA1.S2.r0", rework=3)    # another step's
    last = led.last_attempt("LA1", "S1")
    assert (last.id, last.rework, last.status) == (again.id, 1, "RUNNING")
    led.dispose()
