"""A step a dead orchestrator had begun, whose job the tool no longer knows, is held — never repeated."""
from __future__ import annotations

from line.config import load_line
from line.ledger import Ledger
from line.recipes.tool_recipe import load_tool_recipe
from line.steps import ToolStep, job_id_for
from tests.support import SEED


def test_a_begun_step_the_tool_lost_is_held_as_interrupted(sim, line_file, tmp_path, sqlite_url):
    ledger = Ledger(sqlite_url)
    tool = load_line(line_file).tool("PVD01")
    recipe = load_tool_recipe(SEED, [tool])
    wafers = ledger.ensure_lot("LOT-I", 2)
    job = job_id_for("LOT-I", "S1", 0)
    run = ledger.begin_step("LOT-I", "S1", "sputter", "PVD01", recipe.name, recipe.version, recipe.sha256, job)
    ledger.record_event("job", job, "", "PROCESSING", "tool-report", run.id)   # it was running when we died…
    out = ToolStep(ledger, tool, recipe, "LOT-I", "S1", wafers).execute()      # …and the tool was restarted since
    assert out.status == "ON_HOLD" and out.hold_type == "INTERRUPTED" and "no record" in out.hold_reason
    assert not sim.tools["PVD01"].jobs                                       # nothing was run again
    assert ledger.lot("LOT-I").status == "ON_HOLD"
    ledger.dispose()
