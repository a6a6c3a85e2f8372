"""SPC on the simulated line: lots through a sputter step whose Cu thickness spec asks for SPC; an
engineer freezes a baseline; the target ages (the simulator's drift physics) and the next lot's
mean leaves the control limits while still inside its spec — the lot is held with the chart in
the hold's evidence (action hold), or the tool is flagged and dispatch passes it over at that step
until an engineer clears it (action flag)."""
from __future__ import annotations

from pathlib import Path

import pytest

from line.dashboard import process_control_markdown
from line.hold_view import evidence_markdown
from line.ledger import Ledger
from line.lot_flow import drive_lot
from line.spc.control import freeze
from tests.support import ROOT, simulated, write_line

pytestmark = pytest.mark.prefect

ROUTE = """\
apiVersion: bumpline/v1
kind: Route
metadata: {{name: eng-spc-seed, version: 1, description: a Cu seed under SPC, author: test}}
spec:
  incoming:
    pad:
      area_pct: 10
      layers:
        - {{material: Si, role: substrate, thickness_nm: 725000}}
        - {{material: Al, role: pad, thickness_nm: 1000}}
    field:
      area_pct: 90
      layers: [{{material: Si, role: substrate, thickness_nm: 725000}}, {{material: SiN, role: passivation, thickness_nm: 1000}}]
  steps:
    - {{id: E01, operation: seed-deposition, tool_kind: sputter, recipe: pvd-ti100-cu300-seed@v1,
       specs: [{{measurement: thickness.Cu, unit: nm, target: 300, lsl: 255, usl: 345,
                spc: {{chart: {chart}, rules: [1, 2, 3, 4], action: {action}}}}}]}}
"""


def route_file(tmp_path: Path, chart: str, action: str) -> str:
    path = tmp_path / f"spc-{action}.yaml"
    path.write_text(ROUTE.format(chart=chart, action=action))
    return str(path)


@pytest.fixture
def sim():
    """Two sputter tools at clock ×3000 (the steps' minutes pass in tenths of a second)."""
    with simulated(("PVD01", "sputter"), ("PVD02", "sputter"), speed=3000) as line:
        yield line


def lot(lot_id: str, route: str, line: Path, db: str) -> dict:
    return drive_lot(lot_id, route, 3, str(line), str(ROOT / "recipes"), db_url=db)


def age_target(sim, tool: str, kwh: float) -> None:
    """The Cu target has delivered `kwh`: with drift on, its rate per kW has fallen (~6 % at 1000 kWh)."""
    def set_age() -> None:
        sim.tools[tool].drift = True
        sim.tools[tool].target_kwh["Cu"] = kwh
    sim.call(set_age)


def test_a_lot_that_leaves_the_control_limits_inside_its_spec_is_held_with_the_chart(prefect_server, sim, tmp_path, db_url):
    line = write_line(tmp_path / "line.yaml", {"PVD01": sim.ports()["PVD01"]})
    route = route_file(tmp_path, "xbar_r", "hold")
    for n in range(5):
        out = lot(f"B{n}", route, line, db_url)
        assert out["status"] == "COMPLETE", out            # no baseline yet: SPC takes no action
    ledger = Ledger(db_url)
    row, own = freeze(ledger, "E01", "thickness.Cu", "PVD01", "xbar_r", 5, "eng-anna", note="seed qualification")
    assert row.lots == 5 and (row.first_lot, row.last_lot) == ("B0", "B4") and not any(p.signals for p in own)
    assert 290 < row.center < 310 and 0 < row.sigma < 10
    assert lot("B5", route, line, db_url)["status"] == "COMPLETE"      # the same tool, in control
    age_target(sim, "PVD01", 1000.0)
    out = lot("B6", route, line, db_url)
    step = out["steps"][-1]
    assert out["status"] == "ON_HOLD" and step["hold_type"] == "SPC", out
    assert "SPC E01 thickness.Cu on PVD01: WE1 (one point beyond 3σ, below)" in step["hold_reason"]
    (run,) = ledger.step_runs("B6")
    values = [ms.value for ms in ledger.measurements(run.id) if ms.name == "thickness.Cu"]
    assert all(255 < v < 345 for v in values) and max(values) < row.center   # in spec: only SPC saw it
    hold = ledger.holds("B6")[0]
    evidence = evidence_markdown(ledger, hold)
    assert "SPC chart E01 thickness.Cu on PVD01: xbar_r baseline" in evidence and "| B6 |" in evidence
    assert "**WE1 (one point beyond 3σ, below)**" in evidence
    (signal,) = ledger.events("spc", step_run_id=run.id)
    assert signal.dest == "SIGNAL" and signal.data["action"] == "hold" and signal.data["z"] < -3
    assert "SPC signal at E01 thickness.Cu on PVD01 (hold): WE1 (one point beyond 3σ, below)" in \
        "\n".join(process_control_markdown(ledger, "B6"))
    ledger.dispose()


def test_a_flagged_tool_is_passed_over_at_that_step_until_an_engineer_clears_it(prefect_server, sim, tmp_path, sqlite_url):
    line = write_line(tmp_path / "line.yaml", sim.ports())
    route = route_file(tmp_path, "imr", "flag")
    for n in range(6):
        assert lot(f"F{n}", route, line, sqlite_url)["status"] == "COMPLETE"
    ledger = Ledger(sqlite_url)
    used = sorted(r.tool_id for n in range(6) for r in ledger.step_runs(f"F{n}"))
    assert used == ["PVD01"] * 3 + ["PVD02"] * 3
    for tool in ("PVD01", "PVD02"):
        freeze(ledger, "E01", "thickness.Cu", tool, "imr", 3, "eng-anna")
    age_target(sim, "PVD01", 1000.0)
    assert lot("F6", route, line, sqlite_url)["status"] == "COMPLETE"        # a flag does not hold the lot
    assert [r.tool_id for r in ledger.step_runs("F6")] == ["PVD01"]
    (flag,) = ledger.open_spc_flags("E01")
    assert flag.tool_id == "PVD01" and flag.lot_id == "F6" and "WE1" in flag.signal
    # PVD01 is less used or tied from here on; the flag sends both lots to PVD02
    assert lot("F7", route, line, sqlite_url)["status"] == "COMPLETE"
    assert lot("F8", route, line, sqlite_url)["status"] == "COMPLETE"
    assert [r.tool_id for n in (7, 8) for r in ledger.step_runs(f"F{n}")] == ["PVD02", "PVD02"]
    assert ledger.clear_spc_flags("PVD01", "E01", "eng-anna", "target replaced") == 1
    assert lot("F9", route, line, sqlite_url)["status"] == "COMPLETE"
    assert [r.tool_id for r in ledger.step_runs("F9")] == ["PVD01"]
    ledger.dispose()
