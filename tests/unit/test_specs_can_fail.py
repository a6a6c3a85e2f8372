"""Specs that can fail, and recipe rules that run on a recipe alone: a route spec must name a
measurement its step's tool kind reports, in its unit, with finite limits, lsl < usl, and a window
that holds the recipe's own target; a tool recipe validated on its own runs its kind's rules."""
from __future__ import annotations

import re

import pytest

from line.recipes.catalog import RecipeCatalog
from line.recipes.route import MEASUREMENT_NAMES, load_route
from line.recipes.tool_recipe import load_tool_recipe, recipe_findings
from line.yamlio import DocumentError
from tests.support import ROOT, cli

A = (ROOT / "recipes/routes/product-a-spacing-pad-bump.yaml").read_text()
CATALOG = RecipeCatalog(ROOT / "recipes")
TI = "{measurement: thickness.Ti, unit: nm, target: 100, lsl: 90, usl: 110}"


def refused(text: str) -> list:
    with pytest.raises(DocumentError) as exc:
        load_route("route.yaml", CATALOG, text=text)
    return exc.value.problems


def test_the_shipped_routes_keep_their_specs() -> None:
    assert TI in A
    load_route("route.yaml", CATALOG, text=A)


@pytest.mark.parametrize("spec,rule,words", [
    ("{measurement: thickness.Ti, unit: nm, lsl: .nan, usl: .nan}", "value_error", "finite numbers"),
    ("{measurement: thickness.Ti, unit: nm, lsl: 110, usl: 110}", "value_error", "lsl < usl"),
    ("{measurement: thickness.Ti, unit: nm, lsl: -.inf, usl: 110}", "value_error", "finite numbers"),
    ("{measurement: thikness.Ti, unit: nm, lsl: 90, usl: 110}", "unknown-measurement", "did you mean 'thickness.*'"),
    ("{measurement: thickness.Ti, unit: um, lsl: 90, usl: 110}", "unit-mismatch", "reported in nm, not um"),
    ("{measurement: thickness.Ti, unit: nm, lsl: 150, usl: 200}", "spec-excludes-target", "aims thickness.Ti at 100 nm"),
])
def test_a_spec_that_could_never_work_is_refused_at_the_spec(spec: str, rule: str, words: str) -> None:
    problems = refused(A.replace(TI, spec))
    hit = next((p for p in problems if p.rule == rule), None)
    assert hit is not None, [str(p) for p in problems]
    assert words in hit.message and "specs" in hit.path
    assert hit.line == next(i for i, text in enumerate(A.splitlines(), 1) if TI in text)


def test_the_route_schema_offers_the_declared_measurement_names() -> None:
    assert {"thickness.*", "plated.thickness", "peak", "*.mean"} <= set(MEASUREMENT_NAMES)


def test_a_tool_recipe_validated_alone_runs_its_kinds_rules(tmp_path) -> None:
    text = (ROOT / "recipes/plater/cu-5um-2asd-pad.yaml").read_text()
    assert "time_s:" in text
    short = tmp_path / "short.yaml"
    short.write_text(re.sub(r"time_s: (\d+(?:\.\d+)?)", lambda m: f"time_s: {float(m.group(1)) * 0.7:g}", text, count=1))
    (problem,) = recipe_findings(load_tool_recipe(short))
    assert problem.rule == "faraday-consistency" and problem.file == str(short)
    out = cli("recipe", "validate", str(short))
    assert out.returncode == 1 and "faraday-consistency" in out.stdout + out.stderr
