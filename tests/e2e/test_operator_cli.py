"""What the README's quick start and "Running lots by hand" promise an operator, run as they would:
`bumpline demo` builds A–D and checks every claim; `demo-seed --fault` holds on the arc it injected
and keeps every finished wafer; `status`, `lot list`, `lot show`, `sim world` and `sim jobs` tell what
the ledger and the simulated tools hold after a real lot."""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from line.ledger import Ledger
from line.recipes.catalog import RecipeCatalog
from line.recipes.route import load_route
from tests.support import ROOT, SEED, cli, cli_env

pytestmark = pytest.mark.prefect


def test_demo_builds_every_product_and_checks_each_claim(tmp_path):
    """As `make demo` runs it: its own Prefect (no PREFECT_API_URL), the simulated line in-process."""
    home = tmp_path / "home"
    env = {k: v for k, v in cli_env(BUMPLINE_HOME=str(home)).items() if not k.startswith("PREFECT_API")}
    out = cli("demo", "--wafers", "1", env=env, timeout=220)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    catalog = RecipeCatalog(ROOT / "recipes")
    lots = dict(re.findall(r"^(\S+) product (.+?): COMPLETE$", out.stdout, re.M))
    assert sorted(lots.values()) == ["A", "B", "C", "D (release)", "D (retain)"], out.stdout[-3000:]
    assert len(re.findall(r"\d+ held, \d+ not-modelled", out.stdout)) == 5
    ledger = Ledger(f"sqlite:///{home / 'ledger.db'}")
    routes = [load_route(p, catalog) for p in sorted((ROOT / "recipes/routes").glob("product-*.yaml"))]
    for lot_id, product in lots.items():
        route = next(r for r in routes if r.product is not None and r.product.label == product)
        assert route.product is not None
        block = out.stdout.split(f"{lot_id} product {product}")[1].split(" product ")[0]
        shown = dict((e, s) for s, e in re.findall(r"(✓ held|· not-modelled) (\S+):", block))
        assert shown == {c.id: "· not-modelled" if c.not_modelled else "✓ held" for c in route.product.spec.claims}
        assert "✗" not in block
        runs = ledger.step_runs(lot_id)
        assert ledger.lot(lot_id).status == "COMPLETE" and len(runs) == len(route.steps)
        assert {r.status for r in runs} == {"COMPLETE"}
    ledger.dispose()


def test_demo_seed_with_a_hard_arc_holds_and_keeps_every_finished_wafer(prefect_server, tmp_path):
    home = tmp_path / "home"
    out = cli("demo-seed", "--fault", "hard_arc:slot=7", "--wafers", "9",
              env=cli_env(PREFECT_API_URL=prefect_server, BUMPLINE_HOME=str(home)), timeout=150)
    assert out.returncode == 3, out.stdout + out.stderr
    (headline,) = [line for line in out.stdout.splitlines() if " ON HOLD " in line]
    assert "ALARM: PVD01 alarm 2001 HARD_ARC" in headline
    ledger = Ledger(f"sqlite:///{home / 'ledger.db'}")
    (lot,) = ledger.lots()
    (run,) = ledger.step_runs(lot.id)
    statuses = [r.status for r in sorted(ledger.results(run.id), key=lambda r: r.wafer_id)]
    assert statuses == ["PROCESSED"] * 6 + ["INCOMPLETE"] + ["NOT_PROCESSED"] * 2
    assert [(a.alid, a.name, a.wafer_id) for a in ledger.alarms(lot.id)] == [(2001, "HARD_ARC", f"{lot.id}.07")]
    per_wafer = Counter(m.wafer_id for m in ledger.measurements(run.id))
    assert all(per_wafer[f"{lot.id}.{i:02d}"] == 4 for i in range(1, 7))   # the finished wafers keep theirs
    assert not {f"{lot.id}.08", f"{lot.id}.09"} & set(per_wafer)            # nothing for wafers never run
    assert lot.status == "ON_HOLD"
    ledger.dispose()


def test_status_lot_list_lot_show_and_the_simulated_truth_after_a_lot(prefect_server, sim_line_file, tmp_path):
    sim, line_file = sim_line_file
    env = cli_env(PREFECT_API_URL=prefect_server, BUMPLINE_HOME=str(tmp_path / "home"))
    ran = cli("run", "--tool", "PVD01", "--recipe", str(SEED), "--wafers", "2", "--lot", "OP-1",
              "--line", line_file, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr

    status = cli("status", "--line", line_file, env=env)
    assert status.returncode == 0, status.stderr
    tools_table = status.stdout.split("work in progress")[0]
    rows = {line.split("│")[1].strip(): line for line in tools_table.splitlines() if line.count("│") > 6}
    assert {t for t in sim.tools} <= set(rows)                 # every tool of the line has a row
    assert "IDLE" in rows["PVD01"] and "STANDBY" in rows["PVD01"]
    assert "UNKNOWN" in rows["PVD02"] and "NON_SCHEDULED" not in rows["PVD02"]   # never used: never observed
    assert "E10 over the last 24 h" in status.stdout
    assert "work in progress: none (every lot the ledger knows has ended)" in status.stdout   # not an empty table

    listed = cli("lot", "list", env=env)
    assert listed.returncode == 0 and re.search(r"OP-1\s+│\s+COMPLETE", listed.stdout), listed.stdout
    shown = cli("lot", "show", "OP-1", env=env)
    assert shown.returncode == 0 and shown.stdout.startswith("OP-1 COMPLETE")
    assert "S1 COMPLETE on PVD01: pvd-ti100-cu300-seed@v1 job OP-1.S1.r0" in shown.stdout
    assert len(re.findall(r"│ 0[12]\s+│ PROCESSED │", shown.stdout)) == 2      # one row a wafer, with its result
    assert "✓" in shown.stdout and "[" in shown.stdout        # each value marked against its limits in the header
    missing = cli("lot", "show", "NOPE", env=env)
    assert missing.returncode == 1 and "no lot NOPE" in missing.stderr

    # the same as data, for scripts: JSON of a lot, of the lot list and of the line; CSV of the measurements
    detail = json.loads(cli("lot", "show", "OP-1", "--json", env=env).stdout)
    assert detail["status"] == "COMPLETE" and [s["step"] for s in detail["steps"]] == ["S1"]
    values = detail["steps"][0]["measurements"]
    assert values and all(v["pass"] is True and v["lsl"] < v["value"] < v["usl"] for v in values if v["target"])
    assert [lot["lot"] for lot in json.loads(cli("lot", "list", "--json", env=env).stdout)] == ["OP-1"]
    line_json = json.loads(cli("status", "--line", line_file, "--json", env=env).stdout)
    assert {t["tool_id"] for t in line_json["tools"]} == set(sim.tools) and line_json["e10"]["window_h"] == 24
    csv_rows = cli("lot", "show", "OP-1", "--csv", "-", env=env).stdout.splitlines()
    assert csv_rows[0].startswith("lot,step,rework,tool,job,wafer,name,value") and len(csv_rows) == 1 + len(values)

    world = cli("sim", "world", "OP-1.01", "--line", line_file, env=env)
    assert world.returncode == 0, world.stderr
    truth = json.loads(world.stdout)["OP-1.01"]
    assert [layer["material"] for layer in truth["regions"]["pad"]][-2:] == ["Ti", "Cu"]
    jobs = cli("sim", "jobs", "PVD01", "--line", line_file, env=env)
    assert jobs.returncode == 0, jobs.stderr
    (job,) = json.loads(jobs.stdout)["PVD01"]
    assert (job["job_id"], job["state"], job["start_count"]) == ("OP-1.S1.r0", "PROCESS_COMPLETE", 1)
    assert job["wafers"] == ["OP-1.01", "OP-1.02"]
