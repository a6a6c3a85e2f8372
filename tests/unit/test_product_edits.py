"""Every edit class a process engineer could make by mistake is refused by `recipe validate` with a
located message naming the product predicate or end-of-route rule, and the step (issue #13). Each
edit is made on the shipped route's text, as an engineer would."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from line.recipes.catalog import RecipeCatalog
from line.recipes.linter import lint
from line.recipes.mutations import add_override, edit, step_blocks
from line.recipes.route import load_route
from line.yamlio import DocumentError, Problem

ROOT = Path(__file__).resolve().parents[2]
CATALOG = RecipeCatalog(ROOT / "recipes")
A = (ROOT / "recipes/routes/product-a-spacing-pad-bump.yaml").read_text()
B = (ROOT / "recipes/routes/product-b-rdl-recess.yaml").read_text()
C = (ROOT / "recipes/routes/product-c-paste-core-bump.yaml").read_text()
D = (ROOT / "recipes/routes/product-d-suspended-bump-release.yaml").read_text()


def errors(text: str, catalog: RecipeCatalog = CATALOG) -> list[Problem]:
    try:
        return [p for p in lint(load_route("route.yaml", catalog, text=text)) if p.severity == "error"]
    except DocumentError as exc:
        return exc.problems


def override(text: str, step: str, extra: str) -> str:
    """Add `extra` to a step's overrides (creating them when the step has none)."""
    return add_override(text, step, extra)


def line_of(text: str, step: str) -> int:
    return next(i for i, l in enumerate(text.splitlines(), 1) if f"{{id: {step}," in l)


CASES = {
    # the Cu seed etch dropped: the Ti/Cu seed stays in the field and shorts every pad
    "seed-etch-dropped": (lambda: edit(A, delete="A08b"), "no-conductor-in-isolation", "A02"),
    # a chemistry that does not etch Cu
    "seed-etch-wrong-chemistry": (lambda: override(A, "A08b", "chemistry: nmp_strip"), "etch-removes-nothing", "A08b"),
    "ubm-etch-with-boe": (lambda: override(A, "A14b", "chemistry: boe"), "etch-removes-nothing", "A14b"),
    # the seed etched before the resist strip: nothing is removed from the field
    "seed-etch-before-strip": (lambda: edit(A, swap=("A08a", "A08b")), "no-conductor-in-isolation", "A02"),
    # the bump mold dropped: metal plates blanket over the wafer
    "bump-mold-dropped": (lambda: edit(A, delete="A12"), "plating-without-mold", "A13a"),
    # the resist strip moved before the plating it molds
    "strip-before-plating": (lambda: edit(A, swap=("A04", "A05")), "plating-without-mold", "A04"),
    # solder plated before the second passivation (and its 350 °C cure)
    "solder-before-passivation2": (lambda: edit(A, move=("A13b", "A09a")), "product-claim", "A13b"),
    # the polyimide cure moved before the PSPI coat: PI never cured
    "pi-cure-before-coat": (lambda: edit(A, swap=("A09a", "A09b")), "cured", "A09a"),
    "pi-cure-dropped": (lambda: edit(B, delete="B09b"), "cured", "B09a"),
    # the paste cure dropped: cap metal on uncured paste
    "paste-cure-dropped": (lambda: edit(C, delete="C04b"), "metal-on-uncured", "C05"),
    # the Ni barrier dropped, or made in a Cu bath
    "ni-barrier-dropped": (lambda: edit(A, delete="A13a"), "product-claim", "c4.ubm"),
    "ni-barrier-in-cu-bath": (lambda: override(A, "A13a", "bath: Cu-acid"), "product-structure", "A13a"),
    # a release under another operation name is still a release: cut short, it is refused
    "release-renamed-and-short": (lambda: override(D.replace("id: D07, operation: release,", "id: D07, operation: beam-free,"),
                                                   "D07", "time_s: 600"), "release-short", "D07"),
    # the reflow dropped: a plated bump never balled
    "reflow-dropped": (lambda: edit(A, delete="A15"), "product-claim", "c5.bump"),
}


@pytest.mark.parametrize("name", CASES)
def test_each_edit_class_is_refused_with_a_located_message(name):
    make, rule, names = CASES[name]
    text = make()
    got = errors(text)
    hits = [p for p in got if p.rule == rule]
    assert hits, f"{name}: no {rule} in {[str(p) for p in got]}"
    p = next((h for h in hits if names in h.message), None)
    assert p is not None, f"{name}: {rule} does not name {names}: {[h.message for h in hits]}"
    assert p.file == "route.yaml" and p.line > 1 and p.column >= 1 and p.path.startswith("spec.")
    ids = [sid for sid, _ in step_blocks(text)[1]]
    named = [sid for sid in ids if re.search(rf"\b{re.escape(sid)}\b", p.message)]
    assert named, f"{name}: the message names no step of the route: {p}"


def test_a_product_rule_is_located_at_the_step_that_last_changed_the_region():
    text = edit(A, delete="A08b")
    p = next(p for p in errors(text) if p.rule == "no-conductor-in-isolation")
    assert "region field was last changed by step A14c" in p.message
    assert p.line == line_of(text, "A14c") and p.path == "spec.steps[17]"


def test_a_new_recipe_version_whose_chemistry_does_not_etch_cu_is_refused(tmp_path):
    """As the issue tried it: a new version of the seed-etch recipe, chemistry nmp_strip."""
    recipes = tmp_path / "recipes"
    shutil.copytree(ROOT / "recipes", recipes)
    v1 = (recipes / "wet_bench/seed-etch-cu.yaml").read_text()
    v2 = v1.replace("version: 1", "version: 2").replace("chemistry: cu_etch", "chemistry: nmp_strip")
    assert v2 != v1 and "nmp_strip" in v2
    (recipes / "wet_bench/seed-etch-cu-v2.yaml").write_text(v2)
    text = A.replace("id: A08b, operation: seed-etch-cu, tool_kind: wet_bench, recipe: wet-seed-etch-cu@v1",
                     "id: A08b, operation: seed-etch-cu, tool_kind: wet_bench, recipe: wet-seed-etch-cu@v2")
    got = errors(text, RecipeCatalog(recipes))
    assert any(p.rule == "etch-removes-nothing" and "step A08b" in p.message for p in got), [str(p) for p in got]
    assert any(p.rule == "no-conductor-in-isolation" for p in got)


def test_shipped_routes_validate_clean():
    for text in (A, B, C):
        assert errors(text) == []


def test_recipe_validate_reads_products_too(tmp_path):
    from line.cli.recipe import doc_kind, load_any
    from line.config import load_line

    cfg = load_line(ROOT / "deploy/lines/sim.yaml")
    doc, findings = load_any(ROOT / "recipes/products/product-d-retain.yaml", CATALOG, cfg)
    assert doc_kind(doc) == "Product" and doc.ref == "product-d-retain@v1" and len(doc.sha256) == 64 and findings == []
    broken = tmp_path / "p.yaml"
    broken.write_text((ROOT / "recipes/products/product-a.yaml").read_text().replace("region: rim, role: ubm", "region: moon, role: ubm"))
    with pytest.raises(DocumentError, match="'moon' is not a region of the design"):
        load_any(broken, CATALOG, cfg)
