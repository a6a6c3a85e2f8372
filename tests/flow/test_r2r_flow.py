"""Run-to-run control on the simulated line: lots plated through a bath that has aged (drift on) —
with R2R off the deposit stays thin, with R2R on the plating time is moved within the recipe's
approved bounds and the thickness comes back to target; every derived recipe is traceable in the
ledger to its approved parent and to the measurement that moved it; production mode still refuses
an unapproved parent."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from line import r2r
from line.config import load_line
from line.dashboard import process_control_markdown
from line.ledger import Ledger
from line.ledger import models as m
from line.line_view import process_control_lines
from line.lot_flow import drive_lot
from line.recipes.catalog import RecipeCatalog
from line.recipes.route import load_route
from line.steps import ToolStep
from sim_hw.line import SimToolSpec
from tests.support import ROOT, cli, cli_env, simulated

pytestmark = pytest.mark.prefect
ROUTE = ROOT / "recipes/routes/engineering/plating-r2r.yaml"


@pytest.fixture
def plater():
    """One Cu plater whose bath is 300 A·h past its replenish (efficiency ~4.5 % down), drift on."""
    spec = SimToolSpec("EP01", "plater", options={"cells": 4, "bath": "Cu-acid", "drift": True, "bath_ah": 300})
    with simulated(spec, speed=3000) as line:
        yield line


def line_file(sim, tmp_path: Path) -> Path:
    cells = "".join(f"      {n}: TCPIP0::127.0.0.1::{p}::SOCKET\n" for n, p in sim.endpoint_ports()["EP01"].items())
    path = tmp_path / "line.yaml"
    path.write_text("apiVersion: bumpline/v1\nkind: Line\nmetadata: {name: plating-line}\ntools:\n"
                    f"  - id: EP01\n    kind: plater\n    address: modbus-tcp://127.0.0.1:{sim.ports()['EP01']}/1\n"
                    f"    endpoints:\n{cells}    capabilities: {{bath: Cu-acid}}\n    options: {{cells: 4}}\n")
    return path


def route_file(tmp_path: Path, on: bool) -> str:
    path = tmp_path / f"r2r-{'on' if on else 'off'}.yaml"
    text = ROUTE.read_text()
    if not on:              # another route (its own name): a version's body never changes
        text = text.replace("r2r: true", "r2r: false").replace("name: eng-plating-r2r", "name: eng-plating-fixed")
    path.write_text(text)
    return str(path)


def arrive(sim, lot: str, wafers: int = 4) -> None:
    """The lot's wafers reach the simulated line with the route's incoming design (seed, open mold)."""
    design = load_route(ROUTE, RecipeCatalog(ROOT / "recipes")).design()
    sim.call(lambda: [sim.world.start_wafer(f"{lot}.{i:02d}", design) for i in range(1, wafers + 1)])


def lot(sim, lot_id: str, route: str, line: Path, db: str) -> dict:
    arrive(sim, lot_id)
    return drive_lot(lot_id, route, 4, str(line), str(ROOT / "recipes"), db_url=db)


def thickness(ledger: Ledger, lot: str) -> float:
    (run,) = ledger.step_runs(lot)
    values = [ms.value for ms in ledger.measurements(run.id) if ms.name == "plated.thickness"]
    return sum(values) / len(values)


def test_r2r_brings_an_aged_bath_back_to_target_and_every_derived_recipe_is_traceable(prefect_server, plater,
                                                                                       tmp_path, sqlite_url):
    line = line_file(plater, tmp_path)
    off, on = route_file(tmp_path, False), route_file(tmp_path, True)
    ledger = Ledger(sqlite_url)
    for n in range(2):
        assert lot(plater, f"OFF{n}", off, line, sqlite_url)["status"] == "COMPLETE"
    assert all(4.6 < thickness(ledger, f"OFF{n}") < 4.85 for n in range(2))     # thin, and nothing moves it
    assert not r2r.adjustments(ledger)                                             # off: exactly today's behaviour
    for n in range(4):
        out = lot(plater, f"ON{n}", on, line, sqlite_url)
        assert out["status"] == "COMPLETE", out
    first, *rest = [thickness(ledger, f"ON{n}") for n in range(4)]
    assert first < 4.85 and all(abs(t - 5.0) < 0.05 for t in rest[1:]), (first, rest)
    rows = {a.lot_id: a for a in r2r.adjustments(ledger)}
    parent = RecipeCatalog(ROOT / "recipes").get("ep-cu-5um-2asd", 2)
    assert rows["ON0"].value == rows["ON0"].parent_value == 696 and rows["ON0"].estimate is None
    later = rows["ON1"]
    assert later.value > 696 and not later.clipped and later.basis_job_id == rows["ON0"].job_id
    assert later.basis_mean == pytest.approx(first, abs=1e-3)                      # the measurement that moved it
    assert later.parent_sha256 == parent.sha256 and later.parent_body_sha256 == parent.body_sha256
    (run,) = ledger.step_runs("ON1")
    assert run.recipe_hash == later.derived_sha256 != parent.body_sha256          # the tool was sent the derived body
    assert plater.tools["EP01"].jobs[run.job_id].recipe_hash                      # and holds it
    said = "\n".join(process_control_markdown(ledger, "ON1"))
    assert f"R2R at P01 on EP01: time_s 696 → **{later.value:g}** toward 5, from {rows['ON0'].job_id}'s mean" in said
    assert any(x.startswith("- R2R ep-cu-5um-2asd@v2 on EP01: time_s (proportional), estimate") and "after 4 lots" in x
               for x in process_control_lines(ledger))
    (state,) = r2r.states(ledger)
    assert (state.recipe, state.tool_id, state.knob, state.lots) == ("ep-cu-5um-2asd@v2", "EP01", "time_s", 4)
    # an orchestrator killed between the step's end and its feedback: the lot run again teaches it, once
    with ledger.session() as s:
        row = s.get(m.R2rAdjustment, rows["ON3"].id)
        row.fed_back_at = row.measured_mean = None
    assert drive_lot("ON3", on, 4, str(line), str(ROOT / "recipes"), db_url=sqlite_url)["status"] == "COMPLETE"
    assert r2r.states(ledger)[0].lots == 5 and r2r.adjustments(ledger, lot_id="ON3")[0].fed_back_at is not None
    assert drive_lot("ON3", on, 4, str(line), str(ROOT / "recipes"), db_url=sqlite_url)["status"] == "COMPLETE"
    assert r2r.states(ledger)[0].lots == 5
    ledger.dispose()
    shown = cli("r2r", "show", "--lot", "ON1", "--json", env=cli_env(BUMPLINE_DB_URL=sqlite_url))
    (derived,) = json.loads(shown.stdout)["derived"]
    assert derived["basis_job"] == rows["ON0"].job_id and derived["derived_sha256"] == later.derived_sha256
    table = cli("r2r", "show", env=cli_env(BUMPLINE_DB_URL=sqlite_url, COLUMNS="220"))
    assert "time_s 696 → " in table.stdout and "ep-cu-5um-2asd@v2" in table.stdout, table.stdout


def test_production_mode_refuses_an_unapproved_parent_even_when_r2r_moved_the_knob(plater, tmp_path, sqlite_url,
                                                                                   monkeypatch):
    cfg = load_line(line_file(plater, tmp_path))
    route = load_route(ROUTE, RecipeCatalog(ROOT / "recipes"))
    step = route.steps[0]
    ledger = Ledger(sqlite_url)
    ledger.ensure_lot("PROD1", 2)
    derived = r2r.derive(ledger, step.recipe, step.parameters, "EP01", "PROD1", "P01", "PROD1.P01.r0", 5.0)
    monkeypatch.setenv("BUMPLINE_MODE", "production")
    out = ToolStep(ledger, cfg.tool("EP01"), step.recipe, "PROD1", "P01", ["PROD1.01", "PROD1.02"],
                   parameters=derived.parameters, specs=list(step.step.specs)).execute()
    assert out.hold_type == "RECIPE" and "ep-cu-5um-2asd@v2 is a draft" in out.hold_reason
    assert not plater.tools["EP01"].jobs                                          # nothing reached the tool
    ledger.dispose()
