"""What the command-line tests share: a ledger of the test's own under BUMPLINE_HOME, the CLI's
environment with it, and a subprocess's whole say for assertion messages."""
from __future__ import annotations

import subprocess
from pathlib import Path

from line.ledger import Ledger
from tests.support import cli_env


def home_env(tmp_path: Path, **extra: str) -> tuple[Path, dict[str, str]]:
    """A ledger of the test's own (BUMPLINE_HOME) and the CLI's environment with it."""
    home = tmp_path / "home"
    return home, cli_env(BUMPLINE_HOME=str(home), **extra)


def ledger_at(home: Path) -> Ledger:
    return Ledger(f"sqlite:///{home / 'ledger.db'}")


def lot_ids(home: Path) -> list[str]:
    """The lots the SQLite ledger under `home` knows; none when the CLI never created it."""
    if not (home / "ledger.db").exists():
        return []
    ledger = ledger_at(home)
    try:
        return [lot.id for lot in ledger.lots()]
    finally:
        ledger.dispose()


def said(out: subprocess.CompletedProcess) -> str:
    return f"exit {out.returncode}\n--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}"
