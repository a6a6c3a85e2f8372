"""Whole routes as Prefect flows on the simulated line: product C end to end, checked against its
claims; a rerun runs nothing twice; lots racing for tools never share one."""
from __future__ import annotations

import statistics
import threading
from typing import NamedTuple

import pytest
from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

from line.cli.products import verify_lot
from line.config import load_line
from line.dashboard import e10_window, tool_rows, wip_rows
from line.ledger import Ledger
from line.lot_flow import drive_lot
from line.recipes.catalog import RecipeCatalog
from line.recipes.route import load_route
from sim_hw.line import SimLine
from tests.support import ROOT

pytestmark = pytest.mark.prefect
LINE = str(ROOT / "deploy/lines/sim.yaml")
C = str(ROOT / "recipes/routes/product-c-paste-core-bump.yaml")


@pytest.fixture
def line(sim_line_file):
    """The whole simulated line; `run` hands each lot flow the line file that points at it."""
    return SimulatedLine(*sim_line_file)


class SimulatedLine(NamedTuple):
    sim: SimLine
    file: str

    @property
    def tools(self):
        return self.sim.tools

    @property
    def world(self):
        return self.sim.world


def start_lot(sim, route, lot_id: str, wafers: int) -> None:
    design = route.design()
    for slot in range(1, wafers + 1):
        sim.world.start_wafer(f"{lot_id}.{slot:02d}", design)


def run(sim, lot_id: str, db: str, wafers: int = 2) -> dict:
    return drive_lot(lot_id, C, wafers, sim.file, str(ROOT / "recipes"), db)


def test_product_c_is_built_and_matches_its_claims(prefect_server, line, tmp_path, sqlite_url):
    db = sqlite_url
    route = load_route(C, RecipeCatalog(ROOT / "recipes"))
    start_lot(line, route, "C-T1", 2)
    out = run(line, "C-T1", db)
    assert out["status"] == "COMPLETE", out
    ledger = Ledger(db)
    check = verify_lot(line.world.snapshot(), route.product, ledger, "C-T1")
    assert check.ok and check.wafers == ["C-T1.01", "C-T1.02"], check.problems
    claims = {r.element: r.status for r in check.rows if r.rule == "claim"}
    assert claims == {c.id: "not-modelled" if c.not_modelled else "held" for c in route.product.spec.claims}
    pad = [l["material"] for l in line.world.snapshot("C-T1.01")["C-T1.01"]["regions"]["pad"]]
    assert pad[-5:] == ["Ti", "Cu", "Ag-epoxy", "Ti", "Cu"]                 # paste enclosed by cup and cap
    runs = ledger.step_runs("C-T1")
    assert [r.step_id for r in runs] == [s.step.id for s in route.steps] and {r.status for r in runs} == {"COMPLETE"}
    # the final metrology's wafer maps: every site of every wafer, where it was read, in the ledger
    c07 = next(r for r in runs if r.step_id == "C07")
    sites = ledger.site_measurements(c07.id, "bump.height")
    assert [(s.wafer_id, s.site) for s in sites] == [(w, i) for w in ("C-T1.01", "C-T1.02") for i in range(1, 14)]
    means = {ms.wafer_id: ms.value for ms in ledger.measurements(c07.id) if ms.name == "bump.height.mean"}
    assert means["C-T1.01"] == pytest.approx(statistics.mean(s.value for s in sites[:13]), abs=1e-3)
    # a second run of the same lot finds every step done and runs nothing
    jobs_before = {t: len(tool.jobs) for t, tool in line.tools.items()}
    assert run(line, "C-T1", db)["status"] == "COMPLETE"
    assert {t: len(tool.jobs) for t, tool in line.tools.items()} == jobs_before
    # the line's view: the tools this lot used report their last state; nothing is in progress
    rows = {r.tool_id: r for r in tool_rows(ledger, load_line(LINE))}
    assert {rows[r.tool_id].state for r in runs} <= {"IDLE", "READY", "OFFLINE"} and not wip_rows(ledger)
    assert rows["MET02"].state == "UNKNOWN" and rows["MET02"].e10 == "UNKNOWN"      # never used: never observed
    from prefect.client.orchestration import get_client

    from line.line_view import LineView
    view = LineView(ledger, load_line(LINE))               # the line view's one writer
    assert view.tick() and not view.tick()                 # written once; nothing changed since: not again
    with get_client(sync_client=True) as client:
        line_view = client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=["line-sim-line"])))
    assert line_view and "| PVD01 | sputter |" in line_view[0].data and "Work in progress" in line_view[0].data
    assert "## E10, last 24 h" in line_view[0].data
    e10 = {r.tool_id: r for r in e10_window(ledger, load_line(LINE))}
    # E10 follows the polled driver states: the cure oven's and the litho track's jobs are seen running
    assert e10["CURE01"].seconds["PRODUCTIVE"] > 0 and e10["LITHO01"].seconds["PRODUCTIVE"] > 0
    # never seen: the ledger knows nothing of it in the window — unobserved, not 24 h non-scheduled
    assert e10["MET02"].observed_s == 0 and e10["MET02"].unobserved_s == pytest.approx(24 * 3600, rel=1e-3)
    ledger.dispose()


def test_a_step_the_ledger_lost_is_reattached_not_repeated(prefect_server, line, tmp_path, sqlite_url):
    """The orchestrator died after the tool finished but before the step was recorded COMPLETE."""
    db = sqlite_url
    route = load_route(C, RecipeCatalog(ROOT / "recipes"))
    start_lot(line, route, "C-T2", 1)
    assert run(line, "C-T2", db, 1)["status"] == "COMPLETE"
    ledger = Ledger(db)
    with ledger.session() as s:                     # forget that C06 finished
        from line.ledger import models as m
        row = s.query(m.StepRun).filter_by(lot_id="C-T2", step_id="C06").one()
        row.status = "RUNNING"
    starts = sum(j.start_count for t in line.tools.values() for j in t.jobs.values())
    assert run(line, "C-T2", db, 1)["status"] == "COMPLETE"
    assert sum(j.start_count for t in line.tools.values() for j in t.jobs.values()) == starts
    assert [e.trigger for e in ledger.events("job", "C-T2.C06.r0") if e.trigger == "reattach"] == ["reattach"]
    (c06,) = [r for r in ledger.step_runs("C-T2") if r.step_id == "C06"]
    assert c06.status == "COMPLETE" and [r.status for r in ledger.results(c06.id)] == ["PROCESSED"]
    ledger.dispose()


def test_racing_lots_never_double_book_a_tool(prefect_server, line, tmp_path, sqlite_url):
    db = sqlite_url
    route = load_route(C, RecipeCatalog(ROOT / "recipes"))
    lots = [f"C-R{i}" for i in range(3)]
    for lot in lots:
        start_lot(line, route, lot, 1)
    outs: dict[str, dict] = {}
    threads = [threading.Thread(target=lambda l=lot: outs.__setitem__(l, run(line, l, db, 1))) for lot in lots]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outs) == sorted(lots), f"lots that never returned (their thread raised): {set(lots) - set(outs)}"
    assert all(o["status"] == "COMPLETE" for o in outs.values()), outs
    for tool_id, tool in line.tools.items():
        spans = sorted((j.started_s, j.ended_s) for j in tool.jobs.values() if j.started_s is not None)
        for (_s1, e1), (s2, _) in zip(spans, spans[1:], strict=False):
            assert s2 >= e1, f"{tool_id} ran two jobs at once"
    ledger = Ledger(db)
    assert all(ledger.lease_holder(t) is None for t in line.tools)
    ledger.dispose()


def test_lot_verify_catches_wafers_an_unreported_fault_left_wrong(prefect_server, line, sqlite_url):
    """An exhausted strip bath raises no alarm and the step has no spec: the lot ends COMPLETE — and
    `lot verify`, reading the product, finds the resist and the lifted-off metal still on the field."""
    route = load_route(C, RecipeCatalog(ROOT / "recipes"))
    start_lot(line, route, "C-X1", 1)
    for tool in (t for t in line.tools.values() if t.kind == "wet_bench"):
        tool.faults.inject("exhausted_bath", activity=0.0)
    assert run(line, "C-X1", sqlite_url, 1)["status"] == "COMPLETE"
    ledger = Ledger(sqlite_url)
    check = verify_lot(line.world.snapshot(), route.product, ledger, "C-X1")
    ledger.dispose()
    broken = {r.element: r for r in check.rows if r.status == "broken"}
    assert not check.ok and {"no-resist-left", "no-conductor-in-isolation", "structure.field"} <= set(broken), check.rows
    assert broken["no-resist-left"].wafers_broken == ["C-X1.01"] and "THICK-NEG" in broken["no-resist-left"].evidence
