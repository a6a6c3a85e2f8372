"""The route linter: A lints clean; every rule class has a failing fixture with a precise message
naming the step and the rule, at the step's line."""
from __future__ import annotations

from pathlib import Path

import pytest

from line.recipes.catalog import RecipeCatalog
from line.recipes.linter import Linter, lint
from line.recipes.route import load_route
from line.yamlio import DocumentError

ROOT = Path(__file__).resolve().parents[2]
A = (ROOT / "recipes/routes/product-a-spacing-pad-bump.yaml").read_text()
C = (ROOT / "recipes/routes/product-c-paste-core-bump.yaml").read_text()
CATALOG = RecipeCatalog(ROOT / "recipes")


def step_line(text: str, step_id: str) -> int:
    return next(i for i, l in enumerate(text.splitlines(), 1) if f"id: {step_id}," in l)


def errors(text: str):
    route = load_route("route.yaml", CATALOG, text=text)
    return [p for p in lint(route) if p.severity == "error"]


def after(step_id: str, new_steps: str, text: str = A) -> str:
    lines = text.splitlines(keepends=True)
    i = step_line(text, step_id)
    while i < len(lines) and not lines[i].lstrip().startswith("- {id:"):
        i += 1
    return "".join(lines[:i]) + new_steps + "".join(lines[i:])


def one(problems, rule: str):
    hits = [p for p in problems if p.rule == rule]
    assert hits, f"no {rule} in {[str(p) for p in problems]}"
    return hits[0]


def test_product_a_lints_clean():
    assert errors(A) == []


def test_resist_heated_by_a_reflow():
    text = after("A13b", "    - {id: X1, operation: early-reflow, tool_kind: oven, recipe: rfl-sac305-n2@v2}\n")
    p = one(errors(text), "resist-temperature")
    assert "step X1" in p.message and "THICK-NEG" in p.message and "130" in p.message
    assert p.line == step_line(text, "X1") and p.path == "spec.steps[16].recipe"


def test_sputter_degas_over_a_resist_mold():
    text = after("A12", "    - {id: X2, operation: cup, tool_kind: sputter, recipe: pvd-ti100-cu300-seed@v1}\n")
    p = one(errors(text), "resist-temperature")
    assert "degas at 250 °C" in p.message


def test_350_cure_over_a_polymer_sacrificial_layer():
    text = after("A01", "    - {id: X3, operation: sacrificial, tool_kind: litho, recipe: litho-sacpoly-site@v1,\n"
                        "       overrides: {open_over: [pad, field]}}\n")
    p = one(errors(text), "polymer-sacrificial-cure")
    assert "A09b" in p.message and "230 °C" in p.message


def test_etchant_against_every_exposed_material():
    text = after("A01", "    - {id: X4, operation: ti-etch, tool_kind: wet_bench, recipe: wet-seed-etch-ti@v1,\n"
                        "       overrides: {time_s: 900}}\n")
    p = one(errors(text), "etchant-attacks-exposed")
    assert "dhf attacks exposed Al (pad" in p.message and "region pad" in p.message


def test_cyanide_gold_with_a_resist_mold():
    text = A.replace("recipe: ep-cu-1um-spacing@v1,", "recipe: ep-au-0p5um-sulfite@v1, overrides: {bath: Au-cyanide},")
    text = text.replace("target: 1.0, lsl: 0.9, usl: 1.1", "target: 0.5, lsl: 0.45, usl: 0.55")   # the spec follows the recipe
    p = one(errors(text), "cyanide-with-resist")
    assert "Au-cyanide" in p.message and "AZ4620" in p.message and "step A04" in p.message


def test_plating_needs_a_seed():
    text = A.replace("    - {id: A02, operation: seed-deposition", "    - {id: A02, operation: seed-deposition-skipped")
    text = text.replace("recipe: pvd-ti100-cu300-seed@v1,\n       specs: [{measurement: thickness.Ti",
                        "recipe: met-film-cu-pad@v1,\n       specs: [{measurement: thickness.Ti")
    text = text.replace("operation: seed-deposition-skipped, tool_kind: sputter", "operation: seed-deposition-skipped, tool_kind: metrology")
    text = text.replace("{measurement: thickness.Ti, unit: nm, target: 100, lsl: 90, usl: 110},\n"
                        "               {measurement: thickness.Cu, unit: nm, target: 300, lsl: 270, usl: 330}",
                        "{measurement: film_thickness.mean, unit: nm, usl: 1000}")   # a metrology step's own spec
    p = one(errors(text), "plating-needs-seed")
    assert "step A04" in p.message


def test_faraday_consistency_of_plating_parameters():
    text = A.replace("recipe: ep-cu-1um-spacing@v1,", "recipe: ep-cu-1um-spacing@v1, overrides: {time_s: 300},")
    p = one(errors(text), "faraday-consistency")
    assert "2.17 µm" in p.message and "1 µm target" in p.message and "target_thickness_um" in p.message


def test_deposition_consistency_of_sputter_parameters():
    """A Ti layer at 1 kW for its 20 s grows 17 nm, not the 100 nm it declares: the linter grows the
    film by the rate the simulator deposits by (the paper wafer carries 17 nm of Ti) and says the
    layer is inconsistent."""
    text = A.replace("recipe: pvd-ti100-cu300-seed@v1,", "recipe: pvd-ti100-cu300-seed@v1, overrides: {'layers[0].power_kw': 1},", 1)
    p = one(errors(text), "deposition-consistency")
    assert "deposits 17 nm" in p.message and "declared 100 nm" in p.message and "layers[0].thickness_nm" in p.message
    linter = Linter(load_route("route.yaml", CATALOG, text=text))
    linter.run()
    ti = [l.thickness_nm for l in linter.wafer.regions["pad"] if l.material == "Ti"]
    assert ti == [pytest.approx(16.7, abs=0.1), pytest.approx(100.0)], ti      # A02's seed, then A11's UBM


def test_a_spin_speed_that_coats_another_thickness_and_an_opening_that_does_not_clear():
    """AZ4620 spun at 300 rpm coats 20 µm, not the declared 9: the set dose clears half of it, so the
    pad keeps a resist residue on paper as on the simulator, and the spacing plating finds no seed."""
    text = A.replace("recipe: litho-az4620-pad-mold@v1}", "recipe: litho-az4620-pad-mold@v1, overrides: {spin_rpm: 300}}", 1)
    found = errors(text)
    coat, dose = one(found, "coat-consistency"), one(found, "opening-not-cleared")
    assert "coats 20.1 µm, not the declared 9 µm" in coat.message and "step A03" in coat.message
    assert "needs a dose of 1308 mJ/cm² (set 650)" in dose.message and "clear 49.7% of it" in dose.message
    assert "step A04" in one(found, "plating-needs-seed").message


def test_a_print_the_inspection_would_stop_is_refused_on_paper():
    """0.1 N/mm at 100 mm/s fills the holes to 55 %: the printer's inspection (60 % minimum) would stop the job."""
    text = C.replace("recipe: sp-agepoxy-hole-fill@v1,", "recipe: sp-agepoxy-hole-fill@v1, overrides: "
                     "{squeegee_pressure_n_mm: 0.1, print_speed_mm_s: 100},", 1)
    p = one(errors(text), "print-volume-low")
    assert "transfers 55.4 % of the aperture" in p.message and "below 60 %" in p.message and "step C04" in p.message


def test_a_tool_reading_outside_its_step_spec_fails_on_paper():
    """A reflow spike of 290 °C breaks no recipe rule, but the oven would report a 253 °C peak against
    the step's 230–250 °C spec and the lot would hold: the tool's own nominal reading (from the thermal
    model the oven runs) is held against the step's specs on paper, as a metrology reading is."""
    text = A.replace("recipe: rfl-sac305-n2@v2,", "recipe: rfl-sac305-n2@v2, overrides: {'segments[1].target_c': 290},", 1)
    (p,) = errors(text)
    assert p.rule == "spec-fails-on-paper" and "step A15" in p.message
    assert "peak would read 253 °C here" in p.message and "[230, 250]" in p.message and p.path.endswith("specs[0]")


def test_at_most_three_reflows():
    extra = "".join(f"    - {{id: R{i}, operation: rework-reflow, tool_kind: oven, recipe: rfl-sac305-n2@v2}}\n"
                    for i in range(3))
    p = one(errors(after("A15", extra)), "reflow-count")
    assert "step R2" in p.message and "reflow pass 4" in p.message


def test_stencil_area_ratio_and_three_ball_rule():
    text = after("A14c", "    - {id: X5, operation: print, tool_kind: stencil_printer, recipe: sp-sac305-bump@v1,\n"
                         "       overrides: {aperture_um: 70}}\n")
    problems = errors(text)
    assert "0.29" in one(problems, "stencil-area-ratio").message
    assert "three 25 µm particles" in one(problems, "three-ball").message


D_RELEASE = (ROOT / "recipes/routes/product-d-suspended-bump-release.yaml").read_text()
D_RETAIN = (ROOT / "recipes/routes/product-d-suspended-bump-retain.yaml").read_text()
D07 = "    - {id: D07, operation: release, tool_kind: wet_bench, recipe: wet-release-nmp-cpd@v1, creates: [c1.suspension_part],"


def test_release_is_recognised_by_chemistry_not_by_the_operation_name():
    renamed = D_RELEASE.replace("id: D07, operation: release,", "id: D07, operation: free-the-beam,")
    assert errors(renamed) == []                                     # the etch releases, whatever it is called
    boe = D_RELEASE.replace("recipe: wet-release-nmp-cpd@v1", "recipe: wet-release-boe-cpd@v1")
    got = errors(boe)
    assert "removes nothing" in one(got, "etch-removes-nothing").message
    broken = one(got, "product-claim")
    assert "c1.suspension_part" in broken.message and "sacrificial" in broken.message and "step D07" in broken.message


def test_a_short_release_is_a_half_freed_part():
    short = D_RELEASE.replace("recipe: wet-release-nmp-cpd@v1, creates", "recipe: wet-release-nmp-cpd@v1, overrides: {time_s: 600}, creates")
    assert "etch" in one(errors(short), "release-short").message


def test_a_release_spin_dried_leaves_the_suspension_stuck():
    spun = D_RELEASE.replace("recipe: wet-release-nmp-cpd@v1, creates", "recipe: wet-release-nmp-cpd@v1, overrides: {dry: spin_dry}, creates")
    got = errors(spun)
    assert "spin_dry" in one(got, "stiction").message
    assert "stuck" in one(got, "product-claim").message


def test_a_sealed_sacrificial_layer_is_never_released():
    """The retain variant has no release window: a release etch added at the end reaches nothing,
    and an NMP resist strip over the sealed island (D04d, D06e) never frees it."""
    added = D_RETAIN.rstrip("\n") + "\n" + D07.replace("creates: [c1.suspension_part],", "") + " note: x}\n"
    assert [p.rule for p in errors(added)] == ["etch-removes-nothing"]


def test_a_mask_naming_a_region_the_design_lacks():
    text = A.replace("recipe: litho-az4620-pad-mold@v1}", "recipe: litho-az4620-pad-mold@v1, overrides: {open_over: [pad, moon]}}")
    assert "'moon'" in one(errors(text), "unknown-region").message


@pytest.mark.parametrize("old,new,rule", [
    ("recipe: ep-cu-1um-spacing@v1,", "recipe: ep-cu-1um-spacing@v9,", "recipe-not-found"),
    ("tool_kind: plater, recipe: ep-cu-1um-spacing@v1", "tool_kind: litho, recipe: ep-cu-1um-spacing@v1", "kind-mismatch"),
    ("recipe: ep-cu-1um-spacing@v1,", "recipe: ep-cu-1um-spacing@v1, overrides: {voltage: 3},", "unknown-parameter"),
    ("recipe: ep-cu-1um-spacing@v1,", "recipe: ep-cu-1um-spacing@v1, overrides: {current_density_asd: 50},", "less_than_equal"),
    ("creates: [c5.bump]", "creates: [c5.bumpp]", "claim-unknown"),
    ("creates: [c5.bump]", "creates: [c5.bump, c2.bump_pad]", "creates-not-made"),
    ("recipe: wet-strip-nmp@v1}", "recipe: wet strip}", "value_error"),
])
def test_structural_errors_are_located(old, new, rule):
    assert old in A
    text = A.replace(old, new, 1)
    try:
        problems = lint(load_route("route.yaml", CATALOG, text=text))      # creates-not-made: found by the linter
    except DocumentError as exc:
        problems = exc.problems
    p = next(p for p in problems if rule in p.rule or rule in p.message)
    expected = next(i for i, l in enumerate(text.splitlines(), 1) if new in l)
    assert (p.file, p.line) == ("route.yaml", expected), p


@pytest.mark.parametrize("path", sorted((ROOT / "recipes/routes").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_product_route_lints_clean_and_builds_its_product(path):
    route = load_route(path, CATALOG)
    assert route.product is not None and route.spec.product in "ABCD"
    assert [str(p) for p in lint(route)] == []
    created = {c for s in route.spec.steps for c in s.creates}
    assert created <= {c.id for c in route.product.spec.claims}


def test_d_release_leaves_a_gap_under_the_suspension_and_retain_keeps_the_polymer():
    from line.recipes.linter import final_stacks
    release = final_stacks(load_route(ROOT / "recipes/routes/product-d-suspended-bump-release.yaml", CATALOG))
    retain = final_stacks(load_route(ROOT / "recipes/routes/product-d-suspended-bump-retain.yaml", CATALOG))
    assert [l.role for l in release["site"]][2:4] == ["gap", "passivation"] and not release["site"][2].props.get("stiction")
    assert [l.role for l in retain["site"]][2:4] == ["sacrificial", "passivation"]
