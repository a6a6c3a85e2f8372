"""The step task's cache of route and line: read once, read again when a file it came from changes."""
import os
import shutil
from pathlib import Path

from line.plan import load_for_run

ROOT = Path(__file__).resolve().parents[2]


def test_route_and_line_are_loaded_once_and_again_after_an_edit(tmp_path):
    shutil.copytree(ROOT / "recipes", tmp_path / "recipes")
    line = shutil.copy(ROOT / "deploy/lines/sim.yaml", tmp_path / "line.yaml")
    route = str(tmp_path / "recipes/routes/product-c-paste-core-bump.yaml")
    args = (route, str(line), str(tmp_path / "recipes"))
    first = load_for_run(*args)
    assert load_for_run(*args) is first                        # every step asks: no second reading

    used = Path(first[0].steps[0].recipe.path)
    stat = used.stat()
    used.write_text(used.read_text() + "\n# edited\n")
    os.utime(used, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = load_for_run(*args)
    assert second is not first                                 # a recipe the route uses changed

    unused = tmp_path / "recipes/plater/not-used-by-route-c.yaml"
    unused.write_text("not even a recipe")
    assert load_for_run(*args) is second                       # a file the route does not use: no matter

    Path(route).write_text(Path(route).read_text() + "\n")
    assert load_for_run(*args) is not second                   # the route itself changed


def test_the_catalog_is_made_once_and_again_when_a_document_under_it_changes(tmp_path):
    from line.recipes.catalog import RecipeCatalog

    shutil.copytree(ROOT / "recipes", tmp_path / "recipes")
    root = tmp_path / "recipes"
    first = RecipeCatalog.cached(root)
    assert first.get("ep-cu-4um-bump-pad", 1) is not None and not first.problems
    assert RecipeCatalog.cached(root) is first                 # a second lot's start: nothing read again

    added = root / "plater/copy.yaml"
    added.write_text((root / "plater/cu-4um-bump-pad.yaml").read_text())
    second = RecipeCatalog.cached(root)
    assert second is not first                                 # a document added
    assert any(p.rule == "duplicate-version" for p in second.problems)

    added.unlink()
    third = RecipeCatalog.cached(root)
    assert third is not second and not third.problems          # and removed


def test_a_tool_recipe_that_does_not_parse_is_a_catalog_problem_not_skipped(tmp_path):
    from line.recipes.catalog import RecipeCatalog, document_kind

    (tmp_path / "broken.yaml").write_text("kind: ToolRecipe\nmetadata: {name: x, version: 1\n")
    (tmp_path / "route.yaml").write_text("kind: Route  # not parsed to be known\nspec: [unclosed\n")
    assert document_kind(tmp_path / "route.yaml") == "Route"
    catalog = RecipeCatalog(tmp_path)
    assert [(Path(p.file).name, p.rule) for p in catalog.problems] == [("broken.yaml", "yaml-syntax")]
