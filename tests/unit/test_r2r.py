"""Run-to-run control on paper: the EWMA controller's arithmetic against hand numbers and a drifting
process, and every way a recipe's tuning bounds or a route's `r2r` can be wrong, refused with the
file, line, field and rule."""
from __future__ import annotations

import pytest

from line import r2r
from line.recipes.catalog import RecipeCatalog
from line.recipes.route import load_route
from line.recipes.tool_recipe import load_tool_recipe
from line.recipes.tuning import Tuning
from line.yamlio import DocumentError
from tests.support import ROOT

V2 = ROOT / "recipes/plater/cu-5um-2asd-pad-v2.yaml"
ROUTE = ROOT / "recipes/routes/engineering/plating-r2r.yaml"


def test_the_proportional_controller_tracks_a_drifting_gain():
    t = Tuning(knob="time_s", min=600, max=900, measurement="plated.thickness", weight=0.5)
    estimate, knob, target = None, 696.0, 5.0
    outputs = []
    for lot in range(30):
        b = 5.0 / 696 * (1 - 0.004 * lot)               # the bath loses 0.4 % a lot
        y = b * knob
        outputs.append(y)
        estimate = r2r.smooth(t, estimate, r2r.observe(t, knob, y))
        knob = min(max(r2r.setting(t, estimate, target), t.min), t.max)
    assert outputs[0] == pytest.approx(5.0) and outputs[1] == pytest.approx(5.0 * 0.996)
    # on a ramp the EWMA lags (1 − λ)/λ lots and the knob one more: 1/λ = 2 lots of ~0.4 % drift, ≈ 0.04 µm
    assert all(0.035 < target - y < 0.05 for y in outputs[5:]), outputs
    uncontrolled = 5.0 * (1 - 0.004 * 29)
    assert target - outputs[-1] < (target - uncontrolled) / 10        # a tenth of what the drift would do
    assert knob > 696                                             # it plates longer as the bath ages


def test_the_linear_controller_estimates_the_offset_and_the_bounds_clip():
    t = Tuning(knob="squeegee_pressure_n_mm", min=0.25, max=0.4, measurement="paste.volume", model="linear",
               gain=150.0, weight=1.0)
    a = r2r.smooth(t, None, r2r.observe(t, 0.3, 80.0))          # 80 = a + 150·0.3 → a = 35
    assert a == pytest.approx(35.0)
    assert r2r.setting(t, a, 95.0) == pytest.approx(0.4)
    assert r2r.setting(t, a, 110.0) == pytest.approx(0.5)       # beyond max: `derive` clips it to 0.4


@pytest.mark.parametrize(("tuning", "rule", "says"), [
    ("knob: bath, min: 1, max: 2", "tuning-knob", "'bath' is not a number of this plater recipe"),
    ("knob: time_s, min: 700, max: 800", "tuning-excludes-parent", "the approved time_s 696 lies outside"),
    ("knob: time_s, min: 600, max: 9000", "tuning-limit", "time_s bound 9000 is above the maximum 7200 s (the kind)"),
    ("knob: time_s, min: 600, max: 800, measurement: bump.height", "tuning-measurement", "does not report 'bump.height'"),
])
def test_tuning_bounds_that_cannot_be_approved_are_refused_where_they_are(tuning, rule, says):
    text = V2.read_text()
    start = text.index("  tuning:")
    body = "  tuning: {" + tuning + ("" if "measurement" in tuning else ", measurement: plated.thickness") + "}\n"
    with pytest.raises(DocumentError) as info:
        load_tool_recipe(V2, text=text[:start] + body)
    (p,) = info.value.problems
    assert p.rule == rule and says in p.message and p.file == str(V2) and p.path.startswith("spec.tuning.")
    assert text.count("\n", 0, start) + 1 == p.line


def test_a_model_without_its_gain_and_inverted_bounds_are_schema_errors():
    text = V2.read_text().replace("model: proportional", "model: linear")
    with pytest.raises(DocumentError, match="a linear model needs a finite, non-zero gain"):
        load_tool_recipe(V2, text=text)
    with pytest.raises(DocumentError, match="needs finite min < max"):
        load_tool_recipe(V2, text=V2.read_text().replace("min: 650", "min: 900"))


def test_tuning_is_part_of_the_recipe_identity():
    plain = load_tool_recipe(V2)
    wider = load_tool_recipe(V2, text=V2.read_text().replace("max: 800", "max: 820"))
    assert plain.body == wider.body and plain.body_sha256 == wider.body_sha256
    assert plain.sha256 != wider.sha256                 # widening the bounds is a new identity: approve again


@pytest.mark.parametrize(("edit", "rule"), [
    (("ep-cu-5um-2asd@v2, r2r: true", "ep-cu-5um-2asd@v1, r2r: true"), "r2r-without-tuning"),
    (("target: 5.0, lsl: 4.5", "lsl: 4.5"), "r2r-without-target"),
    (("r2r: true,", "r2r: true, overrides: {time_s: 900},"), "r2r-outside-bounds"),
])
def test_a_route_step_under_r2r_is_checked_against_its_recipe(edit, rule):
    text = ROUTE.read_text().replace(*edit)
    with pytest.raises(DocumentError) as info:
        load_route(ROUTE, RecipeCatalog(ROOT / "recipes"), text=text)
    assert rule in {p.rule for p in info.value.problems}, info.value.problems


def test_derive_moves_a_nested_knob_learns_once_a_lot_and_a_resumed_job_gets_the_same_body(sqlite_url):
    from drivers.jobs import Measurement, WaferResult
    from line.ledger import Ledger
    from line.spec_limits import judged

    recipe = load_tool_recipe(ROOT / "recipes/sputter/ti100-cu300-seed-v2.yaml")
    ledger = Ledger(sqlite_url)

    def lot(name: str, cu_nm: float) -> r2r.Derived:
        ledger.ensure_lot(name, 3)
        derived = r2r.derive(ledger, recipe, recipe.parameters, "PVD01", name, "S1", f"{name}.S1.r0", 300.0)
        run = ledger.begin_step(name, "S1", "sputter", "PVD01", recipe.name, 2, derived.row.derived_sha256, f"{name}.S1.r0")
        rows = [WaferResult(f"{name}.0{i}", i, "PROCESSED", (Measurement("thickness.Cu", cu_nm, "nm", 300.0),), {})
                for i in (1, 2, 3)]
        ledger.record_results(run.id, "PVD01", rows, judged(rows, 10, None))
        assert r2r.feedback(ledger, recipe, f"{name}.S1.r0", run.id) is not None
        assert r2r.feedback(ledger, recipe, f"{name}.S1.r0", run.id) is None        # once a lot
        return derived

    first = lot("L1", 282.0)                     # a worn target: 6 % thin at the approved 15 s
    assert first.row.value == 15 and first.parameters.model_dump()["layers"][1]["time_s"] == 15
    second = lot("L2", 300.0)
    assert second.row.value == pytest.approx(300 / (282 / 15), abs=1e-3) and second.row.basis_job_id == "L1.S1.r0"
    assert second.parameters.model_dump()["layers"][1]["time_s"] == pytest.approx(second.row.value)
    assert second.parameters.model_dump()["layers"][0]["time_s"] == 20                # only the declared knob moves
    again = r2r.derive(ledger, recipe, recipe.parameters, "PVD01", "L2", "S1", "L2.S1.r0", 300.0)
    assert again.row.id == second.row.id and again.parameters == second.parameters   # a resumed step: the same body
    ledger.dispose()
