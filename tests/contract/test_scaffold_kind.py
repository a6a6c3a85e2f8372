"""Adding a tool kind touches only its own folders, its recipes and the line config.

The toy kind in `tests/contract/toy_kind/` (a spin cleaner: spec, front end, one vendor backend,
simulator, one recipe — 78 lines) is copied into a temporary copy of the tree; there, with nothing
else edited, the contract suite runs it on every tier, the import contracts hold, and a line config
with one toy tool validates its recipe.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, cli_env

TOY = Path(__file__).parent / "toy_kind"
TREE = ("drivers", "sim_hw", "line", "tests", "recipes", "deploy", "pyproject.toml")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "toy_kind")
    for part in TREE:
        src = ROOT / part
        (shutil.copytree(src, root / part, ignore=ignore) if src.is_dir() else shutil.copy(src, root / part))
    before = {p.relative_to(root) for p in root.rglob("*") if p.is_file()}
    shutil.copytree(TOY, root, dirs_exist_ok=True)
    added = {p.relative_to(root) for p in root.rglob("*") if p.is_file()} - before
    assert {p.parts[0] + "/" + p.parts[1] for p in added} == {"drivers/toy", "sim_hw/toy", "recipes/toy"}
    return root


def run(tree: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**cli_env(), "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(args, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_contract_suite_runs_a_new_kind_on_every_tier(tree: Path) -> None:
    out = run(tree, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/contract",
              "-k", "toy and not scaffold", "--timeout", "120")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    passed = int(out.stdout.rsplit(" passed", 1)[0].rsplit(None, 1)[-1])
    # job, pause, abort, reattach on 3 tiers; its fault and stall on 2; drop and hang on its socket; 4 declarations
    assert passed == 4 * 3 + 2 * 2 + 2 + 4, out.stdout[-2000:]


def test_a_new_kind_keeps_the_layering(tree: Path) -> None:
    out = run(tree, str(Path(sys.executable).with_name("lint-imports")), "--no-cache")
    assert out.returncode == 0 and "4 kept, 0 broken" in out.stdout, out.stdout[-2000:]


def test_a_line_with_the_new_kind_validates_its_recipe(tree: Path) -> None:
    line = tree / "toy-line.yaml"
    line.write_text("apiVersion: bumpline/v1\nkind: Line\nmetadata: {name: toy-line}\ntools:\n"
                    "  - {id: SC01, kind: toy, address: 'TCPIP0::127.0.0.1::5990::SOCKET'}\n")
    out = run(tree, sys.executable, "-m", "line.cli", "recipe", "validate", "recipes/toy/toy-quick-clean.yaml",
              "--line", str(line))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "toy-quick-clean@v1" in out.stdout
