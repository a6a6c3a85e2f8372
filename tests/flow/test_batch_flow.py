"""Batch jobs on the real line: three lots of one cure recipe, each its own Prefect flow run in its own
thread, share one E40 job on a batch oven (one job on the simulator, every lot's wafers in it) —
and everything else stays per lot: each lot's step run, results, judgement and hold. A lot whose
route's limits its wafers miss is held; the two others in the same job, on another route, complete."""
from __future__ import annotations

import threading
from typing import Any

import pytest

from line.leases import released
from line.ledger import Ledger
from line.ledger import models as m
from line.lot_flow import drive_lot
from tests.support import ROOT, simulated, wait_until

pytestmark = pytest.mark.prefect

ROUTE = (ROOT / "recipes/routes/engineering/seed-check.yaml").read_text().split("  steps:")[0].replace(
    "name: eng-seed-check", "name: eng-cure-{name}")


def cure_route(tmp_path, name: str, usl_c: float) -> str:
    """A one-step engineering route: the 125 °C cure, its peak judged against the route's own limits
    (target halfway)."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(ROUTE.replace("{name}", name) + "  steps:\n    - {id: K01, operation: cure, tool_kind: oven, "
                    "recipe: oven-agepoxy-cure-125@v1,\n       specs: [{measurement: peak, unit: °C, "
                    f"target: {(100 + usl_c) / 2}, lsl: 100, usl: {usl_c}}}]}}\n")
    return str(path)


def oven_line(tmp_path, port: int, batch: str) -> str:
    path = tmp_path / "line.yaml"
    path.write_text("apiVersion: bumpline/v1\nkind: Line\nmetadata: {name: batch-line}\n"
                    "simulation: {speed: 3000}\ntools:\n"
                    f"  - id: CURE01\n    kind: oven\n    address: modbus-tcp://127.0.0.1:{port}/1\n{batch}")
    return str(path)


def run_lots(lots: dict[str, str], line: str, db_url: str) -> dict[str, dict[str, Any]]:
    """Each lot (id → its route) through the cure, at once, one thread each — the
    oven kept busy (leased, as by a running job) until every lot waits for it, so the first granted
    finds the others waiting however slowly the flow runs start."""
    out: dict[str, dict[str, Any]] = {}
    ledger = Ledger(db_url)
    assert ledger.acquire_lease("CURE01", "an-earlier-job", 600)

    def one(lot: str, route: str) -> None:
        out[lot] = drive_lot(lot, route, 2, line, str(ROOT / "recipes"), db_url=db_url)

    threads = [threading.Thread(target=one, args=item) for item in lots.items()]
    for t in threads:
        t.start()
    wait_until(lambda: len(waiting(ledger)) == len(lots), 120, "every lot waiting for the oven")
    ledger.release_lease("CURE01", "an-earlier-job")
    released.notify()
    for t in threads:
        t.join(180)
    ledger.dispose()
    # a lot whose thread raised or hung has no entry: every lot must be here, or a check over `out` passes empty
    assert sorted(out) == sorted(lots), f"lots that never returned: {sorted(set(lots) - set(out))}"
    return out


def waiting(ledger: Ledger) -> list[str]:
    with ledger.session() as s:
        return [r.lot_id for r in s.query(m.DispatchRequest).filter_by(state="WAITING")]


def test_three_lots_share_one_oven_job_and_a_hold_stays_with_its_lot(prefect_server, tmp_path, db_url):
    with simulated(("CURE01", "oven"), speed=3000) as sim:
        # the oven's job carries up to 6 wafers: three lots of two
        line = oven_line(tmp_path, sim.ports()["CURE01"], "    batch: {max_wafers: 6, max_wait_min: 0}\n")
        # both routes pass on paper (a nominal peak of 125 °C); the oven's controller then overshoots its
        # holds by 10 °C (within its deviation alarm), a peak only the narrow route's spec refuses
        wide, narrow = cure_route(tmp_path, "wide", 150), cure_route(tmp_path, "narrow", 130)
        sim.call(sim.inject, "CURE01", "overshoot", c=10.0, persistent=True)
        out = run_lots({"BA": wide, "BB": wide, "BC": narrow}, line, db_url)
        jobs = sim.tools["CURE01"].jobs
        assert len(jobs) == 1, f"one batch job expected, the oven ran {sorted(jobs)}"
        (job,) = jobs.values()
        assert sorted(job.wafers) == sorted(f"{lot}.{i:02d}" for lot in ("BA", "BB", "BC") for i in (1, 2))
        assert {lot: r["status"] for lot, r in out.items()} == {"BA": "COMPLETE", "BB": "COMPLETE", "BC": "ON_HOLD"}, out
        assert "OUT_OF_SPEC" in out["BC"]["reason"]
        ledger = Ledger(db_url)
        for lot in ("BA", "BB", "BC"):
            (run,) = ledger.step_runs(lot)
            assert run.job_id == job.job_id and run.tool_id == "CURE01"
            assert sorted(r.wafer_id for r in ledger.results(run.id)) == [f"{lot}.01", f"{lot}.02"]  # its own only
            assert run.status == ("ON_HOLD" if lot == "BC" else "COMPLETE")
        assert [h.reason_type for h in ledger.holds("BC")] == ["OUT_OF_SPEC"]
        assert ledger.holds("BA") == [] and ledger.holds("BB") == []
        assert ledger.leases() == []
        ledger.dispose()


def test_a_tool_without_a_batch_policy_runs_a_lot_a_job(prefect_server, tmp_path, sqlite_url):
    with simulated(("CURE01", "oven"), speed=3000) as sim:
        line = oven_line(tmp_path, sim.ports()["CURE01"], "")
        wide = cure_route(tmp_path, "wide", 150)
        out = run_lots({"NA": wide, "NB": wide}, line, sqlite_url)
        assert {r["status"] for r in out.values()} == {"COMPLETE"}
        assert sorted(sim.tools["CURE01"].jobs) == ["NA.K01.r0", "NB.K01.r0"]
