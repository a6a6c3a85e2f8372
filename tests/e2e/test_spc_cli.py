"""`bumpline spc` as an engineer uses it, against a ledger of lots: freezing a baseline (refused,
with the reason, when it cannot give limits), the chart as numbers and JSON, the flags and clearing
them."""
from __future__ import annotations

import json

from drivers.jobs import Measurement, WaferResult
from line.ledger import Ledger
from line.spec_limits import judged
from tests.support import cli, cli_env


def lots(ledger: Ledger, means: list[float], start: int = 0, tool: str = "PVD01") -> None:
    for n, mean in enumerate(means, start):
        lot = f"L{n:02d}"
        ledger.ensure_lot(lot, 3)
        run = ledger.begin_step(lot, "C03", "sputter", tool, "r", 1, "h" * 64, f"{lot}.C03.r0")
        rows = [WaferResult(f"{lot}.0{i + 1}", i + 1, "PROCESSED", (Measurement("thickness.Cu", mean + d, "nm", 300.0),), {})
                for i, d in enumerate((-1.0, 0.0, 1.0))]
        ledger.record_results(run.id, tool, rows, judged(rows, 10, None))


def test_an_engineer_freezes_a_baseline_reads_the_chart_and_clears_a_flag(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    env = cli_env(BUMPLINE_DB_URL=url, BUMPLINE_HOME=str(tmp_path))
    ledger = Ledger(url)
    lots(ledger, [300.0, 301.0, 299.5, 300.5, 299.0, 330.0])
    refused = cli("spc", "baseline", "C03", "thickness.Cu", "--lots", "6", "--by", "eng-anna", env=env)
    assert refused.returncode == 1 and "L05 fall outside the baseline's own 3σ limits" in refused.stderr
    few = cli("spc", "baseline", "C03", "thickness.Cu", "--lots", "9", "--by", "eng-anna", env=env)
    assert few.returncode == 1 and "PVD01 has 6 lot(s) with thickness.Cu at C03; --lots 9 needs that many" in few.stderr
    bad = cli("spc", "baseline", "C03", "thickness.Cu", "--lots", "5", "--by", "x", "--chart", "pie", env=env)
    assert bad.returncode == 2 and "--chart 'pie'" in bad.stderr
    ok = cli("spc", "baseline", "C03", "thickness.Cu", "--lots", "5", "--by", "eng-anna", "--exclude", "L05",
             "--chart", "xbar_r", env=env)
    assert ok.returncode == 0 and "xbar_r, centre 300" in ok.stdout and "(L00 … L04)" in ok.stdout, ok.stderr
    lots(ledger, [300.2], start=6)                      # one more lot after the baseline
    shown = json.loads(cli("spc", "show", "C03", "thickness.Cu", "--json", env=env).stdout)
    (chart,) = shown["charts"]
    assert chart["baseline"]["chart"] == "xbar_r" and chart["baseline"]["frozen_by"] == "eng-anna"
    assert [p["lot"] for p in chart["points"]] == ["L05", "L06"]             # the lots after the baseline
    assert chart["points"][0]["signals"] and not chart["points"][1]["signals"]   # 330 is far out; 300.2 is not
    table = cli("spc", "show", "C03", "thickness.Cu", env=env)
    assert table.returncode == 0 and "WE1 (one point beyond 3σ, above)" in table.stdout
    none = cli("spc", "show", "C09", "thickness.Cu", env=env)
    assert none.returncode == 1 and "no thickness.Cu at step C09" in none.stderr

    run = ledger.step_runs("L05")[0]
    ledger.raise_spc_flag("PVD01", "C03", "thickness.Cu", "L05", run.id, "WE1 (one point beyond 3σ, above)")
    flags = json.loads(cli("spc", "flags", "--json", env=env).stdout)
    assert [(f["tool"], f["step"], f["lot"]) for f in flags] == [("PVD01", "C03", "L05")]
    assert cli("spc", "clear", "PVD01", "--by", " ", env=env).returncode == 2
    cleared = cli("spc", "clear", "PVD01", "--by", "eng-anna", "--note", "target replaced", env=env)
    assert cleared.returncode == 0 and "cleared 1 SPC flag of PVD01 by eng-anna" in cleared.stdout
    again = cli("spc", "clear", "PVD01", "--by", "eng-anna", env=env)
    assert again.returncode == 1 and "PVD01 has no open SPC flag" in again.stderr
    assert "no open SPC flags" in cli("spc", "flags", env=env).stdout
    ledger.dispose()
