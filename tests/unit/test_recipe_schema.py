"""ToolRecipe loading: every broken input names file, line, column, field path and rule."""
from pathlib import Path

import pytest

from line.config import load_line
from line.recipes.tool_recipe import load_tool_recipe
from line.yamlio import DocumentError

ROOT = Path(__file__).resolve().parents[2]
LINE = load_line(ROOT / "deploy/lines/sim.yaml")
GOOD = (ROOT / "recipes/sputter/ti100-cu300-seed.yaml").read_text()


def problems(text: str, tools=LINE.tools):
    with pytest.raises(DocumentError) as info:
        load_tool_recipe("r.yaml", tools, text=text)
    return info.value.problems


@pytest.mark.parametrize("path", sorted(p for p in (ROOT / "recipes").rglob("*.yaml") if not {"routes", "products"} & set(p.parts)),
                         ids=lambda p: p.name)
def test_shipped_recipes_validate_against_the_sim_line(path):
    r = load_tool_recipe(path, LINE.tools)
    assert len(r.sha256) == 64 and r.version >= 1


def test_unknown_field_is_located():
    text = GOOD.replace("degas: {temperature_c: 250, time_s: 60}", "degas: {temperature_c: 250, time_s: 60, colour: red}")
    (p,) = problems(text)
    line_no = next(i for i, l in enumerate(text.splitlines(), 1) if "colour" in l)
    assert (p.file, p.line, p.path, p.rule) == ("r.yaml", line_no, "spec.parameters.degas.colour", "extra_forbidden")
    assert p.column == text.splitlines()[line_no - 1].index("colour") + 1


def test_power_above_the_kind_hard_limit():
    (p,) = problems(GOOD.replace("power_kw: 12", "power_kw: 45"))
    assert p.path == "spec.parameters.layers[1].power_kw" and p.rule == "less_than_equal"
    assert "45" in p.message


def test_power_above_one_tools_limit_names_that_tool():
    # PVD01 is limited to 20 kW in deploy/lines/sim.yaml; PVD02 has the kind's 40 kW.
    (p,) = problems(GOOD.replace("power_kw: 12", "power_kw: 30"))
    assert p.rule == "tool-limit" and "PVD01" in p.message and "20 kW" in p.message
    assert p.path == "spec.parameters.layers[1].power_kw"
    assert load_tool_recipe("r.yaml", [LINE.tool("PVD02")], text=GOOD.replace("power_kw: 12", "power_kw: 30"))


@pytest.mark.parametrize("old,new,rule,path", [
    ("time_s: 20", "time_s: twenty", "float_parsing", "spec.parameters.layers[0].time_s"),
    ("material: Ti", "material: Unobtainium", "literal_error", "spec.parameters.layers[0].material"),
    ("version: 1", "version: 0", "greater_than_equal", "metadata.version"),
    ("apiVersion: bumpline/v1", "apiVersion: bumpline/v0", "literal_error", "apiVersion"),
    ("tool_kind: sputter", "tool_kind: teleporter", "value_error", "spec.tool_kind"),
    ("    chuck_temperature_c: 25\n", "", "missing", "spec.parameters.chuck_temperature_c"),
])
def test_each_rule_class_is_reported_precisely(old, new, rule, path):
    assert old in GOOD
    text = GOOD.replace(old, new)
    ps = problems(text)
    assert (ps[0].rule, ps[0].path) == (rule, path)
    # at the offending value; a missing field at the mapping that lacks it
    anchor = new.strip() or "parameters:"
    lines = text.splitlines()
    line_no = next(i for i, l in enumerate(lines, 1) if anchor in l)
    key = path.rsplit(".", 1)[-1].split("[")[0] if new.strip() else "parameters"
    assert ps[0].line == line_no, (ps[0], anchor)
    assert lines[line_no - 1][ps[0].column - 1:].startswith((key, anchor.split(": ")[-1])), (ps[0], lines[line_no - 1])


def test_yaml_syntax_error_has_a_position():
    (p,) = problems("apiVersion: bumpline/v1\nkind: [ToolRecipe\n")
    assert p.rule == "yaml-syntax" and p.line >= 2


def test_duplicate_key_is_refused():
    (p,) = problems(GOOD.replace("  version: 1\n", "  version: 1\n  version: 2\n"))
    assert p.rule == "yaml-syntax" and "version" in p.message


def test_a_document_that_is_not_a_mapping():
    (p,) = problems("- just\n- a list\n")
    assert p.rule == "document-type"


def test_identity_hash_is_the_sha256_of_the_canonical_body():
    import hashlib
    import json

    a = load_tool_recipe("r.yaml", LINE.tools, text=GOOD)
    canonical = json.dumps(a.body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert a.sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    # comments, metadata text and YAML layout (block vs flow style, key order) are not the body
    b = load_tool_recipe("r.yaml", LINE.tools, text="# a comment\n" + GOOD.replace("description: Ti", "description: Ti!")
                         .replace("degas: {temperature_c: 250, time_s: 60}", "degas:\n      time_s: 60\n      temperature_c: 250"))
    assert a.sha256 == b.sha256
    # every change of a value is a new identity
    c = load_tool_recipe("r.yaml", LINE.tools, text=GOOD.replace("time_s: 20", "time_s: 21"))
    d = load_tool_recipe("r.yaml", LINE.tools, text=GOOD.replace("material: Ti", "material: TiW", 1))
    assert len({a.sha256, c.sha256, d.sha256}) == 3
