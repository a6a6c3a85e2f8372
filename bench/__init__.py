"""Benchmarks of the bumpline line (issue #7): figures, not tests. `python -m bench` runs all five.

Importing the package fixes the environment before Prefect or `line` is imported: the benchmarks get
their own BUMPLINE_HOME (so their Prefect database and ledgers never mix with a developer's demo or
with the test suite), and Prefect's own defaults from `line.prefect_env`.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_HOME = ROOT / ".bumpline" / "bench"

os.environ.setdefault("BUMPLINE_HOME", str(BENCH_HOME))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("BUMPLINE_DB_URL", None)   # every benchmark names its ledger explicitly
os.chdir(ROOT)                            # routes and recipes are addressed relative to the repository

import line.prefect_env  # noqa: E402,F401 - after BUMPLINE_HOME is set: PREFECT_HOME under it, start-up timeout
# isort: split
