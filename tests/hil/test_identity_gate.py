"""A recipe that is not what was approved never reaches a tool."""
from __future__ import annotations

import pytest

from drivers.errors import ToolError
from line.config import load_line
from line.ledger import Ledger
from line.recipes.identity import approve
from line.recipes.tool_recipe import load_tool_recipe
from line.steps import ToolStep
from tests.hil.helpers import driver
from tests.recipes import seed
from tests.support import SEED


def test_a_body_that_does_not_hash_to_its_identity_is_refused_at_setup(sim):
    d = driver(sim, "PVD01")
    d.connect()
    with pytest.raises(ToolError, match="not the approved"):
        d.setup("J1", ["W.01"], seed(), expected_hash="0" * 64)
    assert d.state == "IDLE" and not sim.tools["PVD01"].jobs


def test_production_mode_runs_only_approved_versions(sim, line_file, tmp_path, monkeypatch, sqlite_url):
    monkeypatch.setenv("BUMPLINE_MODE", "production")
    ledger = Ledger(sqlite_url)
    tool = load_line(line_file).tool("PVD01")
    recipe = load_tool_recipe(SEED, [tool])
    wafers = ledger.ensure_lot("LOT-P1", 2)
    out = ToolStep(ledger, tool, recipe, "LOT-P1", "S1", wafers).execute()
    assert out.status == "ON_HOLD" and out.hold_type == "RECIPE" and "draft" in out.hold_reason
    assert not sim.tools["PVD01"].jobs                       # nothing reached the tool
    approve(ledger, "ToolRecipe", recipe.name, recipe.version, recipe.sha256, recipe.path, by="qa-lead")
    wafers = ledger.ensure_lot("LOT-P2", 2)
    assert ToolStep(ledger, tool, recipe, "LOT-P2", "S1", wafers).execute().status == "COMPLETE"
    ledger.dispose()
