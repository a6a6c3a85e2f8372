"""A corpus of broken recipes (tests/fixtures/bad/*.yaml, each saying what it expects in its first
line) and a property-based fuzz of the loaders: every failure is a located DocumentError, never a
traceback."""
from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from line.config import load_line
from line.recipes.catalog import RecipeCatalog
from line.recipes.route import load_route
from line.recipes.tool_recipe import load_tool_recipe
from line.yamlio import DocumentError

ROOT = Path(__file__).resolve().parents[2]
BAD = sorted((ROOT / "tests/fixtures/bad").glob("*.yaml"))
TOOLS = load_line(ROOT / "deploy/lines/sim.yaml").tools
CATALOG = RecipeCatalog(ROOT / "recipes")


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_each_bad_recipe_names_file_line_field_and_rule(path):
    rule, line, *field = path.read_text().splitlines()[0].removeprefix("# expect: ").split(" ", 2)
    with pytest.raises(DocumentError) as info:
        load_tool_recipe(path, TOOLS)
    p = info.value.problems[0]
    assert (p.file, p.rule, p.line) == (str(path), rule, int(line))
    if field:
        assert p.path == field[0]
    assert p.column >= 1 and p.message


GOOD = (ROOT / "recipes/sputter/ti100-cu300-seed.yaml").read_text()
ROUTE = (ROOT / "recipes/routes/product-a-spacing-pad-bump.yaml").read_text()
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(string.printable, max_size=12))


def assert_clean_failure(load, text: str) -> None:
    try:
        load(text)
    except DocumentError as exc:
        assert exc.problems and all(p.line >= 1 and p.rule for p in exc.problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(string.printable, max_size=300))
def test_fuzz_arbitrary_text(text):
    assert_clean_failure(lambda t: load_tool_recipe("fuzz.yaml", TOOLS, text=t), text)
    assert_clean_failure(lambda t: load_route("fuzz.yaml", CATALOG, text=t), text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_documents(data):
    """Replace one line's value of a good recipe or route with something random."""
    for source, load in ((GOOD, lambda t: load_tool_recipe("fuzz.yaml", TOOLS, text=t)),
                         (ROUTE, lambda t: load_route("fuzz.yaml", CATALOG, text=t))):
        lines = source.splitlines()
        i = data.draw(st.integers(0, len(lines) - 1))
        key, sep, _ = lines[i].partition(": ")
        value = data.draw(scalars)
        lines[i] = f"{key}{sep}{value!r}" if sep else data.draw(st.text(string.printable, max_size=40))
        assert_clean_failure(load, "\n".join(lines))
