"""A route that names no product is an engineering route: process rules only, its own incoming
design, no claim elements — and never a production lot."""
from __future__ import annotations

import pytest

from line.config import load_line
from line.recipes.catalog import RecipeCatalog
from line.recipes.linter import lint
from line.recipes.qualification import load_runnable_route
from line.recipes.route import load_route
from line.yamlio import DocumentError
from tests.support import ROOT

ENG = ROOT / "recipes/routes/engineering/seed-check.yaml"
LINE = load_line(ROOT / "deploy/lines/sim.yaml")


def test_an_engineering_route_lints_on_the_process_rules_alone():
    route = load_route(ENG, RecipeCatalog(ROOT / "recipes"))
    assert route.product is None and route.label == "engineering" and set(route.design()) == {"pad", "field"}
    assert lint(route) == []


def test_production_mode_refuses_it_and_engineering_mode_runs_it(monkeypatch):
    monkeypatch.setenv("BUMPLINE_MODE", "production")
    with pytest.raises(DocumentError) as info:
        load_runnable_route(ENG, ROOT / "recipes", LINE)
    (p,) = info.value.problems
    assert p.rule == "engineering-route" and "production mode" in p.message and p.file == str(ENG)
    assert load_runnable_route(ROOT / "recipes/routes/product-c-paste-core-bump.yaml", ROOT / "recipes", LINE).product
    monkeypatch.setenv("BUMPLINE_MODE", "engineering")
    assert load_runnable_route(ENG, ROOT / "recipes", LINE).product is None


def test_it_creates_no_claim_elements_and_a_product_route_needs_no_incoming():
    text = ENG.read_text().replace("recipe: met-film-cu-pad@v1}", "recipe: met-film-cu-pad@v1, creates: [c1.seed]}")
    with pytest.raises(DocumentError, match="claim-unknown"):
        load_route("eng.yaml", RecipeCatalog(ROOT / "recipes"), text=text)
    a = (ROOT / "recipes/routes/product-a-spacing-pad-bump.yaml").read_text()
    with pytest.raises(DocumentError, match="takes its incoming design from the product"):
        load_route("a.yaml", RecipeCatalog(ROOT / "recipes"), text=a.replace("  steps:\n", "  incoming: {}\n  steps:\n", 1))
    with pytest.raises(DocumentError, match="product-not-found"):
        load_route("a.yaml", RecipeCatalog(ROOT / "recipes"), text=a.replace("  product: A\n", "  product: E\n"))
