"""README promises of the command line that no other test holds it to, each run as an operator
runs it (a subprocess, its own ledger under BUMPLINE_HOME): the documented exit codes of `run` and
`lot start`, `recipe diff` and `recipe schema`, `lot answer` with the ledger alone, and production
mode refusing a draft recipe before anything reaches the tool (the `db` and `alarms` commands:
test_cli_operations.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from line.recipes.schema import modeline
from tests.e2e.cli_home import home_env, ledger_at, lot_ids, said
from tests.support import ROOT, SEED, cli, cli_env, free_port, http_json

ROUTE_C = "recipes/routes/product-c-paste-core-bump.yaml"
PLATER_A = "recipes/plater/cu-5um-2asd-pad.yaml"
PLATER_B = "recipes/plater/cu-4um-bump-pad.yaml"


# ---- 1. exit codes of `run` and `lot start` ------------------------------------------------------
def broken_recipe(case: str, tmp_path: Path) -> tuple[Path, list[str]]:
    """Bad input to `run`: a recipe path and the message fragments its refusal must name."""
    if case == "missing":
        missing = tmp_path / "no-such-recipe.yaml"
        return missing, [f"{missing}: no such file"]
    if case == "yaml-syntax":
        syntax = tmp_path / "syntax.yaml"
        syntax.write_text("apiVersion: bumpline/v1\nkind: ToolRecipe\nmetadata: {name: x, version: 1\nspec: [\n")
        return syntax, [f"{syntax}:4:5:", "[yaml-syntax]", "nothing was run"]
    no_time = tmp_path / "no-time.yaml"
    no_time.write_text(SEED.read_text().replace("time_s: 15, ", ""))
    return no_time, [f"{no_time}:19:9: spec.parameters.layers[1].time_s: required field missing [missing]",
                     "nothing was run"]


@pytest.mark.prefect
@pytest.mark.parametrize("case", ["missing", "yaml-syntax", "missing-field"])
def test_run_exits_1_on_a_bad_recipe_and_nothing_runs(case, sim, line_file, prefect_server, tmp_path):
    home, env = home_env(tmp_path, PREFECT_API_URL=prefect_server)
    recipe, fragments = broken_recipe(case, tmp_path)
    out = cli("run", "--tool", "PVD01", "--recipe", str(recipe), "--wafers", "2", "--lot", "BAD1",
              "--line", str(line_file), env=env)
    assert out.returncode == 1, said(out)
    assert [f for f in fragments if f not in out.stderr] == [], said(out)
    assert "Traceback" not in out.stderr
    assert lot_ids(home) == []                                  # no lot reached the ledger
    assert {t: tool.jobs for t, tool in sim.tools.items()} == {"PVD01": {}, "PVD02": {}}   # nor the tools


@pytest.mark.prefect
def test_run_exits_1_on_an_unknown_tool_and_nothing_runs(sim, line_file, prefect_server, tmp_path):
    home, env = home_env(tmp_path, PREFECT_API_URL=prefect_server)
    out = cli("run", "--tool", "PVD09", "--recipe", str(SEED), "--wafers", "2", "--lot", "BAD1",
              "--line", str(line_file), env=env)
    assert out.returncode == 1 and "has no tool 'PVD09'" in out.stderr and "Traceback" not in out.stderr, said(out)
    assert lot_ids(home) == []
    assert {t: tool.jobs for t, tool in sim.tools.items()} == {"PVD01": {}, "PVD02": {}}


def flow_runs_of(api: str, lot_id: str) -> list[str]:
    """Name and state of the newest flow runs on the Prefect server that were given this lot id."""
    runs = http_json(api, "POST", "/flow_runs/filter", {"sort": "EXPECTED_START_TIME_DESC", "limit": 100})
    return [f"{r['name']} {r['state_type']}" for r in runs if r["parameters"].get("lot_id") == lot_id]


def broken_route(case: str, tmp_path: Path) -> tuple[Path, list[str]]:
    """Bad input to `lot start`: a route path and the message fragments its refusal must name."""
    text = (ROOT / ROUTE_C).read_text()
    if case == "missing":
        missing = tmp_path / "no-such-route.yaml"
        return missing, [f"{missing}: no such file"]
    if case == "unknown-recipe":
        unknown = tmp_path / "unknown-recipe.yaml"
        unknown.write_text(text.replace("recipe: pvd-ti-cu-cup-lowtemp@v1, creates: [c1.first_metal",
                                        "recipe: pvd-ti-cu-cup-lowtemp@v7, creates: [c1.first_metal", 1))
        return unknown, [f"{unknown}:{line_of(text, 'id: C03,')}:", "spec.steps[1].recipe", "pvd-ti-cu-cup-lowtemp@v7",
                         "[recipe-not-found]", "nothing was run"]
    # a process rule broken (README: the route linter's rules): the seed recipe's 250 °C degas over
    # product C's resist mold, a step `recipe validate` refuses with file:line:col, field and rule
    hot = tmp_path / "resist-too-hot.yaml"
    hot.write_text(text.replace("    - {id: C03,", "    - {id: X2, operation: hot-seed, tool_kind: sputter, "
                                                  "recipe: pvd-ti100-cu300-seed@v1}\n    - {id: C03,", 1))
    return hot, [f"{hot}:{line_of(text, 'id: C03,')}:57: spec.steps[1].recipe: step X2", "[resist-temperature]"]


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


@pytest.mark.prefect
@pytest.mark.parametrize("case", ["missing", "unknown-recipe", "process-rule"])
def test_lot_start_exits_1_on_a_bad_route_and_nothing_runs(case, prefect_server, tmp_path):
    home, env = home_env(tmp_path, PREFECT_API_URL=prefect_server)
    route, fragments = broken_route(case, tmp_path)
    line = tmp_path / "line.yaml"                 # the simulated line's config, its simulator nowhere
    line.write_text((ROOT / "deploy/lines/sim.yaml").read_text().replace(
        "control: 127.0.0.1:15000", f"control: 127.0.0.1:{free_port()}"))
    lot = f"BAD-{case}"
    out = cli("lot", "start", "--route", str(route), "--lot", lot, "--wafers", "1", "--line", str(line), env=env)
    problems = []
    if out.returncode != 1:
        problems.append(f"exit {out.returncode}, expected 1")
    if missing := [f for f in fragments if f not in out.stderr]:
        problems.append(f"stderr lacks {missing}")
    if "Traceback" in out.stderr:
        problems.append("stderr has a Traceback")
    if lots := lot_ids(home):
        problems.append(f"the ledger has lots {lots}")
    if runs := flow_runs_of(prefect_server, lot):
        problems.append(f"Prefect has flow runs of {lot}: {runs}")
    assert not problems, f"{problems}\n{said(out)[-2500:]}"


@pytest.mark.prefect
def test_lot_start_exits_0_when_the_lot_completes(sim_line_file, prefect_server, tmp_path):
    sim, line_file = sim_line_file
    home, env = home_env(tmp_path, PREFECT_API_URL=prefect_server)
    out = cli("lot", "start", "--route", ROUTE_C, "--lot", "OK1", "--wafers", "1", "--line", line_file, env=env)
    assert out.returncode == 0, said(out)
    assert "OK1 COMPLETE" in out.stdout
    steps = [s["id"] for s in YAML(typ="safe").load((ROOT / ROUTE_C).read_text())["spec"]["steps"]]
    ledger = ledger_at(home)
    try:
        assert ledger.lot("OK1").status == "COMPLETE"
        assert [(r.step_id, r.status) for r in ledger.step_runs("OK1")] == [(s, "COMPLETE") for s in steps]
        assert ledger.holds("OK1") == []
    finally:
        ledger.dispose()
    # the finished wafers, on the simulated line, against product C (not against the route)
    out = cli("lot", "verify", "OK1", "--line", line_file, env=env)
    assert out.returncode == 0, said(out)
    assert "product C" in out.stdout and "all held" in out.stdout and "not-modelled" in out.stdout
    out = cli("lot", "verify", "OK1", "--json", "--line", line_file, env=env)
    verdict = json.loads(out.stdout)
    assert out.returncode == 0 and verdict["ok"] and verdict["wafers"] == ["OK1.01"]
    assert {e["element"]: e["status"] for e in verdict["elements"]}["c2.cup"] == "not-modelled"
    out = cli("lot", "verify", "NO-SUCH-LOT", "--line", line_file, env=env)
    assert out.returncode == 1 and "no lot NO-SUCH-LOT" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.prefect
def test_lot_start_exits_3_when_the_lot_ends_on_hold(sim_line_file, prefect_server, tmp_path):
    sim, line_file = sim_line_file
    for printer in ("SP01", "SP02"):            # whichever printer C04 gets misprints
        sim.call(sim.inject, printer, "misalignment", um=45, persistent=True)
    home, env = home_env(tmp_path, PREFECT_API_URL=prefect_server)
    out = cli("lot", "start", "--route", ROUTE_C, "--lot", "HOLD1", "--wafers", "1", "--line", line_file, env=env)
    assert out.returncode == 3, said(out)
    (headline,) = [l for l in out.stdout.splitlines() if l.startswith("HOLD1 ON_HOLD")]
    assert "ON HOLD at C04" in headline and "ALARM" in headline, headline
    ledger = ledger_at(home)
    try:
        assert ledger.lot("HOLD1").status == "ON_HOLD"
        assert [(r.step_id, r.status) for r in ledger.step_runs("HOLD1")] == \
            [("C01", "COMPLETE"), ("C03", "COMPLETE"), ("C04", "ON_HOLD")]       # nothing after the hold ran
        (hold,) = ledger.holds("HOLD1")
        assert hold.reason_type == "ALARM" and hold.decision == "" and hold.reason.split()[0] in ("SP01", "SP02")
    finally:
        ledger.dispose()


# ---- 2. recipe diff and recipe schema ---------------------------------------------------------
def test_recipe_diff_lists_each_changed_parameter_or_identical_bodies():
    out = cli("recipe", "diff", PLATER_A, PLATER_B)
    assert out.returncode == 0, said(out)
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"--- {PLATER_A}  ep-cu-5um-2asd@v1  ")
    assert lines[1].startswith(f"+++ {PLATER_B}  ep-cu-4um-bump-pad@v1  ")
    assert [l.strip() for l in lines if "→" in l] == ["parameters.open_area_cm2: 70.7 → 106.0",
                                                      "parameters.target_thickness_um: 5.0 → 4.0",
                                                      "parameters.time_s: 696.0 → 554.0"]
    assert lines[-1] == "3 parameter(s) differ"

    same = cli("recipe", "diff", PLATER_A, PLATER_A)
    assert same.returncode == 0 and same.stdout.splitlines()[-1] == "identical bodies", said(same)
    assert "→" not in same.stdout


def test_recipe_schema_writes_json_schema_files_and_prints_the_modeline(tmp_path):
    from jsonschema import Draft202012Validator

    from drivers.registry import driver_class

    plater = tmp_path / "schemas" / "plater.json"                  # its folder is made too
    out = cli("recipe", "schema", "--kind", "plater", "-o", str(plater))
    assert out.returncode == 0, said(out)
    assert out.stdout.splitlines()[0] == f"wrote {plater}"
    assert modeline(str(plater)) in out.stdout.splitlines()
    assert modeline(str(plater)) == f"# yaml-language-server: $schema={plater}"
    schema = json.loads(plater.read_text())
    assert schema["title"] == "bumpline ToolRecipe (plater)"
    params = schema["$defs"][schema["properties"]["spec"]["$ref"].rsplit("/", 1)[1]]["properties"]["parameters"]
    fields = schema["$defs"][params["$ref"].rsplit("/", 1)[1]]["properties"]
    plater_fields = set(driver_class("plater").recipe_model.model_fields)
    assert plater_fields <= set(fields) and {"bath", "current_density_asd", "time_s"} <= plater_fields
    # what an editor does with it: the shipped recipe passes, a wrong one is flagged
    validator = Draft202012Validator(schema)
    recipe = YAML(typ="safe").load((ROOT / PLATER_A).read_text())
    assert list(validator.iter_errors(recipe)) == []
    recipe["spec"]["parameters"]["current_density_asd"] = "fast"
    assert [list(e.absolute_path) for e in validator.iter_errors(recipe)] == \
        [["spec", "parameters", "current_density_asd"]]

    route = tmp_path / "route.json"
    out = cli("recipe", "schema", "-o", str(route))
    assert out.returncode == 0 and modeline(str(route)) in out.stdout.splitlines(), said(out)
    route_schema = json.loads(route.read_text())
    assert route_schema["title"] == "bumpline Route"
    assert {"apiVersion", "kind", "metadata", "spec"} <= set(route_schema["properties"])
    route_doc = YAML(typ="safe").load((ROOT / ROUTE_C).read_text())
    assert list(Draft202012Validator(route_schema).iter_errors(route_doc)) == []


# ---- 3. lot answer with the ledger alone ---------------------------------------------------------
def held_lot(home: Path, lot_id: str) -> None:
    """A lot that ended on hold at C04 with no orchestrator left (no lease): as `lot start` without
    --hold-timeout leaves it."""
    home.mkdir(exist_ok=True)
    ledger = ledger_at(home)
    try:
        ledger.ensure_lot(lot_id, 2, product="C", route="product-c-paste-core-bump@v1")
        ledger.set_lot_status(lot_id, "RUNNING", trigger="dispatch")
        run = ledger.begin_step(lot_id, "C04", "stencil_printer", "SP01", "sp-agepoxy-hole-fill", 1, "0" * 64,
                                f"{lot_id}.C04.r0", operation="paste-fill")
        ledger.finish_step(run.id, "ON_HOLD")
        ledger.open_hold(lot_id, run.id, "ALARM", "SP01 alarm 3002 MISALIGNMENT: fiducials off by 45 um")
    finally:
        ledger.dispose()


def test_lot_answer_records_the_decision_in_the_ledger_without_prefect(tmp_path):
    home = tmp_path / "home"
    env = {k: v for k, v in cli_env(BUMPLINE_HOME=str(home)).items() if not k.startswith("PREFECT_API")}
    env["PREFECT_API_URL"] = f"http://127.0.0.1:{free_port()}/api"     # nothing listens: no Prefect at all
    held_lot(home, "HX1")
    held_lot(home, "HX2")

    out = cli("lot", "answer", "HX1", "--decision", "rework", "--operator", "alice", "--note", "SP01 fiducials",
              env=env)
    assert out.returncode == 0, said(out)
    assert "recorded 'rework' for HX1" in out.stdout and "Traceback" not in out.stderr
    aborted = cli("lot", "answer", "HX2", "-d", "abort", "-o", "bob", "--note", "paste expired", env=env)
    assert aborted.returncode == 0 and "HX2 aborted" in aborted.stdout, said(aborted)

    ledger = ledger_at(home)
    try:
        (hold,) = ledger.holds("HX1")
        assert (hold.decision, hold.decided_by, hold.note) == ("rework", "alice", "SP01 fiducials")
        assert hold.decided_at is not None
        assert ledger.lot("HX1").status == "RUNNING"             # for `bumpline resume` to carry on
        # rework: the held step is run again at rework 1 by `resume`, not accepted as it is
        assert [(r.step_id, r.status) for r in ledger.step_runs("HX1")] == [("C04", "ON_HOLD")]
        decided = [e for e in ledger.events("lot", "HX1") if e.trigger == "operator-decision"]
        assert [(e.dest, e.data["by"]) for e in decided] == [("REWORK", "alice")]
        (hold2,) = ledger.holds("HX2")
        assert (hold2.decision, hold2.decided_by, hold2.note) == ("abort", "bob", "paste expired")
        assert ledger.lot("HX2").status == "ABORTED"
    finally:
        ledger.dispose()

    again = cli("lot", "answer", "HX1", "-d", "continue", "-o", "alice", env=env)
    assert again.returncode == 1 and "no open hold" in again.stderr and "Traceback" not in again.stderr, said(again)
    nothing = cli("lot", "answer", "NO-SUCH-LOT", "-d", "continue", "-o", "alice", env=env)
    assert nothing.returncode == 1 and "no open hold" in nothing.stderr, said(nothing)
    ledger = ledger_at(home)
    try:
        assert ledger.holds("HX1")[0].decision == "rework"      # the second answer changed nothing
    finally:
        ledger.dispose()


# ---- 4. production mode: only approved versions run -------------------------------------------
@pytest.mark.prefect
def test_production_mode_holds_a_draft_recipe_before_the_tool_then_runs_it_approved(sim, line_file, prefect_server,
                                                                                    tmp_path):
    home, env = home_env(tmp_path, PREFECT_API_URL=prefect_server, BUMPLINE_MODE="production")
    draft = cli("run", "--tool", "PVD01", "--recipe", str(SEED), "--wafers", "2", "--lot", "PROD1",
                "--line", str(line_file), env=env)
    assert draft.returncode == 3, said(draft)
    (headline,) = [l for l in draft.stdout.splitlines() if l.startswith("PROD1 ON HOLD")]
    assert "at S1 on PVD01 — RECIPE: pvd-ti100-cu300-seed@v1 is a draft: production mode runs approved " \
           "versions only" in headline, headline
    assert sim.tools["PVD01"].jobs == {} and sim.tools["PVD02"].jobs == {}      # nothing reached a tool
    ledger = ledger_at(home)
    try:
        assert ledger.lot("PROD1").status == "ON_HOLD"
        assert [(h.reason_type, h.decision) for h in ledger.holds("PROD1")] == [("RECIPE", "")]
        assert [r.status for r in ledger.step_runs("PROD1")] == ["ON_HOLD"]
        assert ledger.results(ledger.step_runs("PROD1")[0].id) == []
    finally:
        ledger.dispose()

    approved = cli("recipe", "approve", str(SEED), "--by", "alice", env=env)
    assert approved.returncode == 0 and "approved pvd-ti100-cu300-seed@v1" in approved.stdout, said(approved)
    ok = cli("run", "--tool", "PVD01", "--recipe", str(SEED), "--wafers", "2", "--lot", "PROD2",
             "--line", str(line_file), env=env)
    assert ok.returncode == 0, said(ok)
    assert "PROD2 S1 complete on PVD01: 2 processed" in ok.stdout
    assert list(sim.tools["PVD01"].jobs) == ["PROD2.S1.r0"]
    ledger = ledger_at(home)
    try:
        assert ledger.lot("PROD2").status == "COMPLETE" and ledger.holds("PROD2") == []
    finally:
        ledger.dispose()
