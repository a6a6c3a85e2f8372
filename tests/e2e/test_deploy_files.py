"""The production files are valid as far as this machine can show (issue #14): every systemd unit
passes `systemd-analyze verify` (its /opt/bumpline paths pointed at this checkout's .venv, since the
host has no /opt/bumpline), and the compose file passes `docker-compose config` (Debian's, installed
by `make test`) with its secrets given and is refused without them, and holds the safe defaults."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.support import IN_CI, ROOT

UNITS = sorted((ROOT / "deploy/systemd").glob("*.service")) + sorted((ROOT / "deploy/systemd").glob("*.timer"))


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_each_systemd_unit_verifies(unit: Path, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        if IN_CI:
            pytest.fail("systemd-analyze is not installed: `make test` installs it (apt-get install systemd)")
        pytest.skip("systemd-analyze is not installed (`make test` installs it)")
    for other in UNITS:         # a timer names its service: verify them side by side
        text = other.read_text().replace("/opt/bumpline/.venv/bin", str(ROOT / ".venv/bin"))
        (tmp_path / other.name).write_text(text)
    name = unit.name.replace("@.service", "@bay.service")
    if name != unit.name:
        (tmp_path / name).write_text((tmp_path / unit.name).read_text())
    out = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / name)], capture_output=True,
                         text=True, timeout=60)
    said = [l for l in (out.stdout + out.stderr).splitlines() if l.strip()]
    assert out.returncode == 0 and said == [], said


def test_units_run_in_production_behind_auth_and_take_exit_3_as_a_hold() -> None:
    env = (ROOT / "deploy/systemd/bumpline.env").read_text()
    assert "BUMPLINE_MODE=production" in env and "PREFECT_API_AUTH_STRING=" in env
    server = (ROOT / "deploy/systemd/prefect-server.service").read_text()
    assert "PREFECT_SERVER_API_AUTH_STRING" in server and "refusing to serve the API unauthenticated" in server
    assert "PREFECT_SERVER_API_AUTH_STRING=" in (ROOT / "deploy/systemd/prefect.env.example").read_text()
    assert "SuccessExitStatus=3" in (ROOT / "deploy/systemd/bumpline-resume.service").read_text()


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if IN_CI:
        pytest.fail("docker-compose is not installed: `make test` installs it (apt-get install docker-compose)")
    pytest.skip("docker-compose is not installed (`make test` installs it)")


def test_compose_config_validates_and_refuses_to_start_without_auth(tmp_path: Path) -> None:
    command = compose_command() + ["-p", "bumpline", "-f", str(ROOT / "deploy/compose.yaml"), "config"]
    base = {k: v for k, v in os.environ.items() if k not in ("PREFECT_AUTH", "BUMPLINE_DB_PASSWORD")}
    ok = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path,
                        env={**base, "PREFECT_AUTH": "ops:secret", "BUMPLINE_DB_PASSWORD": "pw"})
    assert ok.returncode == 0, ok.stderr
    resolved = YAML(typ="safe").load(ok.stdout)["services"]
    assert resolved["prefect"]["environment"]["PREFECT_SERVER_API_AUTH_STRING"] == "ops:secret"
    assert resolved["worker-plating"]["environment"]["PREFECT_API_AUTH_STRING"] == "ops:secret"
    refused = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path,
                             env={**base, "BUMPLINE_DB_PASSWORD": "pw"})
    assert refused.returncode != 0 and "set PREFECT_AUTH=user:password" in refused.stderr


def test_compose_holds_the_safe_defaults() -> None:
    compose = YAML(typ="safe").load((ROOT / "deploy/compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "prefect", "deployer", "resume", "line-view", "charts"} <= set(services)
    assert "line.line_view" in services["line-view"]["command"] and "line.chart_server" in services["charts"]["command"]
    assert "PREFECT_SERVER_API_AUTH_STRING" in services["prefect"]["environment"]
    for name, svc in services.items():
        if "build" not in svc:
            continue
        env = svc["environment"]
        assert env["BUMPLINE_MODE"] == "production" and "PREFECT_API_AUTH_STRING" in env, name
        assert env["BUMPLINE_LINE"] == "/etc/bumpline/line.yaml", name
        assert any(str(v).endswith(":/etc/bumpline/line.yaml:ro") for v in svc["volumes"]), name   # mounted, not baked
    assert "bumpline resume" in services["resume"]["command"]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".bumpline", ".git"} <= set(ignored)
