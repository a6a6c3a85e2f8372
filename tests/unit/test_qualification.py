"""Tools run only what they are qualified for: a 350 °C polyimide cure never lands on the reflow
oven, a reflow never on a cure oven, and a route whose step no tool of the line may run is refused
by validation, located at the step, before any wafer moves."""
from __future__ import annotations

from pathlib import Path

import pytest

from line.config import load_line
from line.dispatch import candidates
from line.recipes.catalog import RecipeCatalog
from line.recipes.qualification import unrunnable_steps
from line.recipes.route import load_route

ROOT = Path(__file__).resolve().parents[2]
ROUTES = sorted((ROOT / "recipes/routes").glob("*.yaml"))
OVENS = {"rfl-sac305-n2": ["RFL01"], "pass-pi-cure-350": ["CURE01", "CURE02"],
         "pass-pi-cure-230": ["CURE01", "CURE02"], "oven-agepoxy-cure-125": ["CURE01", "CURE02"]}


@pytest.fixture(scope="module")
def sim_line():
    return load_line(ROOT / "deploy/lines/sim.yaml")


def routes(line):
    catalog = RecipeCatalog(ROOT / "recipes", line.tools)
    return [load_route(p, catalog) for p in ROUTES]


def test_the_shipped_routes_exist():
    assert len(ROUTES) == 5                  # a parametrize over an empty glob must not pass quietly


@pytest.mark.parametrize("line_file", ["deploy/lines/sim.yaml", "deploy/lines/fab.yaml"])
def test_every_oven_step_of_every_route_goes_to_the_ovens_qualified_for_it(line_file):
    line = load_line(ROOT / line_file)
    seen = set()
    for route in routes(line):
        for rs in route.steps:
            tools = [t.id for t in candidates(line, rs.step.tool_kind, rs.recipe.name, rs.body)]
            assert tools, f"{route.ref} {rs.step.id}: no tool"
            if rs.step.tool_kind == "oven":
                assert tools == OVENS[rs.recipe.name], (route.ref, rs.step.id, rs.recipe.name, tools)
                seen.add(rs.recipe.name)
        assert unrunnable_steps(route, line) == []
    assert seen == set(OVENS)                # every oven recipe is used by some route, each checked


def test_a_tool_says_why_it_may_not_run_a_recipe(sim_line):
    rfl, ep01 = sim_line.tool("RFL01"), sim_line.tool("EP01")
    assert "not qualified for pass-pi-cure-350" in rfl.refusal("oven", "pass-pi-cure-350", {})
    assert rfl.refusal("oven", "rfl-sac305-n2", {}) is None
    assert "of kind oven, the recipe is for kind sputter" in rfl.refusal("sputter", "pvd-ti100-cu300-seed", {})
    assert "Ni-sulfamate" in ep01.refusal("plater", "ep-ni-3um-2asd", {"bath": "Ni-sulfamate"})
    assert ep01.refusal("plater", "ep-cu-5um-2asd", {"bath": "Cu-acid"}) is None


def test_a_route_no_tool_of_the_line_may_run_is_refused_at_its_step(sim_line, tmp_path):
    text = (ROOT / "deploy/lines/sim.yaml").read_text().replace(
        "qualified: [pass-pi-cure-*, oven-agepoxy-cure-*]", "qualified: [oven-agepoxy-cure-*]")
    path = tmp_path / "no-pi-cure.yaml"
    path.write_text(text)
    line = load_line(path)
    route = next(r for r in routes(line) if r.name.startswith("product-a"))
    problems = unrunnable_steps(route, line)
    pi = [rs for rs in route.steps if rs.recipe.name.startswith("pass-pi-cure")]
    assert pi and [p.rule for p in problems] == ["no-qualified-tool"] * len(pi)
    first = problems[0]
    assert first.file == route.path and first.line == route.where(pi[0].index, "recipe")[0]
    assert f"step {pi[0].step.id}" in first.message and str(path) in first.message
    assert "RFL01 is not qualified" in first.message and "CURE01 is not qualified" in first.message
    assert "not qualified" in line.why_none_may_run("oven", pi[0].recipe.name, pi[0].body)


def test_validate_and_run_refuse_what_no_tool_is_qualified_for(tmp_path):
    """As a user sees it: `recipe validate` exits 1 naming the rule at the step; `run` of a recipe on
    a tool not qualified for it (or of another kind) exits 1 before anything is started."""
    import os
    import subprocess
    import sys

    line = tmp_path / "no-pi-cure.yaml"
    line.write_text((ROOT / "deploy/lines/sim.yaml").read_text().replace(
        "qualified: [pass-pi-cure-*, oven-agepoxy-cure-*]", "qualified: [oven-agepoxy-cure-*]"))
    env = {**os.environ, "BUMPLINE_HOME": str(tmp_path / "home"), "COLUMNS": "200"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "line.cli", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    out = cli("recipe", "validate", "--line", str(line), "recipes/routes/product-a-spacing-pad-bump.yaml")
    assert out.returncode == 1
    assert "spec.steps[11].recipe: step A09b" in out.stderr and "[no-qualified-tool]" in out.stderr
    for tool, why in (("CURE01", "CURE01 is not qualified for rfl-sac305-n2"),
                      ("PVD01", "PVD01 is of kind sputter, the recipe is for kind oven")):
        out = cli("run", "--tool", tool, "--recipe", "recipes/oven/reflow-sac305.yaml", "--wafers", "1")
        assert out.returncode == 1 and why in out.stderr, out.stderr
        assert not (tmp_path / "home" / "ledger.db").exists()          # nothing was started or recorded
