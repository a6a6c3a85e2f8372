"""The command line as a user runs it: real subprocesses, real sockets, real Prefect."""
from __future__ import annotations

from pathlib import Path

import pytest

from drivers.sputter.driver import SputterDriver
from line.ledger import Ledger
from sim_hw.control_client import SimControl
from tests.support import SEED, cli, cli_env, free_port, spawn, stop, wait_until, write_line


@pytest.fixture
def sim_up(tmp_path: Path):
    """`bumpline sim up` in its own process, on ports reserved by the test port policy."""
    ports = {"PVD01": free_port(), "PVD02": free_port()}
    control = SimControl("127.0.0.1", free_port())
    line = write_line(tmp_path / "line.yaml", ports)
    line.write_text(line.read_text().replace(
        "tools:\n", f"simulation: {{speed: 600, control: '127.0.0.1:{control.port}'}}\ntools:\n"))
    proc = spawn("sim", "up", "--line", str(line))
    try:
        wait_until(lambda: proc.poll() is None and control.request("ping") == "pong", 60, "`bumpline sim up`")
        yield line, ports, control
    finally:
        assert stop(proc, grace_s=10) is not None


def test_sim_up_serves_every_tool_and_takes_faults(sim_up):
    line, ports, control = sim_up
    tools = {t["tool"]: t for t in control.request("tools")}
    assert {t: tools[t]["port"] for t in tools} == ports
    d = SputterDriver("PVD02", f"TCPIP0::127.0.0.1::{ports['PVD02']}::SOCKET")
    assert d.connect().serial == "PVD02"
    d.close()
    out = cli("sim", "fault", "PVD01", "hard_arc", "slot=2", "--line", str(line))
    assert out.returncode == 0, out.stderr
    # typed as declared, with the declared defaults of the parameters not given
    assert control.request("faults", tool="PVD01") == {
        "hard_arc": {"params": {"slot": 2, "layer": None, "fraction": 0.5}, "one_shot": True}}
    bad = cli("sim", "fault", "PVD01", "smoke", "--line", str(line))
    assert bad.returncode == 1 and "unknown fault" in bad.stderr


def test_recipe_validate_names_file_line_field_and_rule(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SEED.read_text().replace("power_kw: 12", "power_kw: 45").replace(
        "chuck_temperature_c: 25", "chuck_temperature_c: 25\n    turbo: true"))
    out = cli("recipe", "validate", str(bad), "recipes/")
    assert out.returncode == 1
    assert f"{bad}:15:5: spec.parameters.turbo: unknown field [extra_forbidden]" in out.stderr
    assert "spec.parameters.layers[1].power_kw" in out.stderr and "[less_than_equal]" in out.stderr
    assert "ok   recipes/sputter/ti100-cu300-seed.yaml" in out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.prefect
def test_run_refuses_a_broken_recipe_and_nothing_runs(sim_up, tmp_path):
    line, ports, control = sim_up
    bad = tmp_path / "over.yaml"
    bad.write_text(SEED.read_text().replace("power_kw: 12", "power_kw: 45"))
    out = cli("run", "--recipe", str(bad), "--tool", "PVD01", "--wafers", "3", "--line", str(line))
    assert out.returncode == 1 and "power_kw" in out.stderr and "nothing was run" in out.stderr
    assert control.jobs() == {"PVD01": [], "PVD02": []}


@pytest.mark.prefect
def test_run_with_a_hard_arc_ends_on_hold_in_one_clear_line(sim_up, prefect_server, tmp_path):
    line, ports, control = sim_up
    control.inject("PVD01", "hard_arc", slot=3)
    home = tmp_path / "home"
    out = cli("run", "--recipe", str(SEED), "--tool", "PVD01", "--wafers", "5", "--lot", "LOT-CLI",
              "--line", str(line), env=cli_env(PREFECT_API_URL=prefect_server, BUMPLINE_HOME=str(home)))
    assert out.returncode == 3, out.stdout + out.stderr
    headline = [l for l in out.stdout.splitlines() if l.startswith("LOT-CLI ON HOLD")]
    assert len(headline) == 1, out.stdout
    assert "ALARM" in headline[0] and "2001 HARD_ARC" in headline[0] and "LOT-CLI.03" in headline[0]
    ledger = Ledger(f"sqlite:///{home / 'ledger.db'}")
    assert ledger.lot("LOT-CLI").status == "ON_HOLD"
    assert len(ledger.results(ledger.step_runs("LOT-CLI")[0].id)) == 5
    ledger.dispose()


def test_approve_then_edit_without_a_new_version_is_caught(tmp_path):
    home = cli_env(BUMPLINE_HOME=str(tmp_path / "home"))
    recipe = tmp_path / "seed.yaml"
    recipe.write_text(SEED.read_text())
    ok = cli("recipe", "approve", str(recipe), "--by", "alice", env=home)
    assert ok.returncode == 0 and "approved pvd-ti100-cu300-seed@v1" in ok.stdout and "by alice" in ok.stdout
    recipe.write_text(SEED.read_text().replace("time_s: 15", "time_s: 16"))
    out = cli("recipe", "validate", str(recipe), env=home)
    assert out.returncode == 1 and "[immutable-version]" in out.stderr and "bump metadata.version" in out.stderr
    again = cli("recipe", "approve", str(recipe), "--by", "mallory", env=home)
    assert again.returncode == 1 and "edited without a new version" in again.stderr
    recipe.write_text(recipe.read_text().replace("version: 1", "version: 2"))     # the edit as a new version
    bumped = cli("recipe", "approve", str(recipe), "--by", "bob", env=home)
    assert bumped.returncode == 0 and "approved pvd-ti100-cu300-seed@v2" in bumped.stdout, bumped.stderr
    assert cli("recipe", "validate", str(recipe), env=home).returncode == 0


def test_routes_validate_and_hash_from_the_cli():
    out = cli("recipe", "validate", "recipes/routes/")
    assert out.returncode == 0, out.stderr
    assert "product-a-spacing-pad-bump@v4" in out.stdout
    h = cli("recipe", "hash", "recipes/routes/product-a-spacing-pad-bump.yaml")
    assert h.returncode == 0 and len(h.stdout.split()[0]) == 64
