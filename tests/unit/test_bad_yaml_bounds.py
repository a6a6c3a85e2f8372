"""Bad YAML never ends in a traceback, a hang or unbounded memory (issue #14, part 3): an alias bomb,
a huge file, a recursive alias, a 24-digit version — each refused with a located rule."""
from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from line.recipes.tool_recipe import load_tool_recipe
from line.yamlio import DocumentError, load_yaml
from tests.support import ROOT

SEED = (ROOT / "recipes/sputter/ti100-cu300-seed.yaml").read_text()
BOMB = "apiVersion: bumpline/v1\nkind: ToolRecipe\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))


@pytest.mark.parametrize("name,text,rule", [
    ("alias-bomb", BOMB, "document-size"),
    ("huge", "a: " + "x" * 50_000_000 + "\n", "document-size"),
    ("recursive-alias", "apiVersion: bumpline/v1\nkind: ToolRecipe\nmetadata: &m {name: x, version: 1, self: *m}\n", None),
    ("24-digit-version", SEED.replace("version: 1", "version: 123456789012345678901234"), "less_than_equal"),
    ("lone-surrogate", SEED.replace("name: pvd-ti100-cu300-seed", 'name: "x\\ud800"'), None),
])
def test_a_hostile_document_is_refused_quickly_with_small_memory(name, text, rule, tmp_path: Path):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(DocumentError) as info:
        load_tool_recipe(path)
    took = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert info.value.problems and all(p.file == str(path) and p.line >= 1 for p in info.value.problems)
    if rule:
        assert any(p.rule == rule for p in info.value.problems), [str(p) for p in info.value.problems]
    assert peak < 200 * 1024 * 1024, f"{peak / 1e6:.0f} MB"
    assert took < 10, f"{took:.1f} s"          # generous for a loaded machine; a bomb used to run for minutes


def test_the_expansion_bound_counts_aliases_each_time_they_are_used():
    with pytest.raises(DocumentError, match="expands to more than"):
        load_yaml("bomb.yaml", BOMB)
    assert load_yaml("ok.yaml", "a: &a [1, 2]\nb: *a\n")["b"] == [1, 2]       # an ordinary alias is fine
