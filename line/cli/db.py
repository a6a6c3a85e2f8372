"""`bumpline db …`: the ledger's schema and its backups, for the operations guide. Schema changes go
through Alembic (`line/ledger/migrations`); every process also upgrades on open, under a lock, so
an upgrade is: stop the workers, `bumpline db upgrade`, start the new version."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

import typer
from sqlalchemy.engine import make_url

from line.cli.common import console, err
from line.ledger.database import current_revision, default_url, head_revision, make_engine
from line.ledger.database import upgrade as alembic_upgrade

app = typer.Typer(no_args_is_help=True, help="The ledger database: schema revision, upgrade, backup.")


@app.command()
def current() -> None:
    """The ledger's schema revision and the code's."""
    engine = make_engine(default_url())
    try:
        console.print(f"ledger {make_url(default_url()).render_as_string(hide_password=True)}: revision "
                      f"{current_revision(engine) or 'none'}; this code's head: {head_revision()}")
    finally:
        engine.dispose()


@app.command()
def upgrade(revision: str = typer.Argument("head", help="the schema revision to upgrade to (default: the newest)")) -> None:
    """Migrate the ledger to `revision` (default: this code's head) with Alembic."""
    engine = make_engine(default_url())
    try:
        before = current_revision(engine)
        alembic_upgrade(engine, revision)
        console.print(f"ledger upgraded: {before or 'empty'} → {current_revision(engine)}")
    finally:
        engine.dispose()


@app.command()
def backup(to: Path = typer.Option(None, "--to", help="file to write (default: a dated file in the current folder)")) -> None:
    """A consistent copy of the ledger while the line runs: SQLite's online backup, or pg_dump -Fc."""
    url = make_url(default_url())
    stamp = f"{datetime.now():%Y%m%d-%H%M%S}"
    if not url.database:
        err.print(f"[red]error[/red] the ledger URL {url.render_as_string(hide_password=True)} names no database")
        raise typer.Exit(1)
    if url.get_backend_name() == "sqlite":
        target = to or Path(f"ledger-{stamp}.db")
        src, dst = sqlite3.connect(url.database), sqlite3.connect(target)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    else:
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            err.print("[red]error[/red] pg_dump is not installed (Debian: postgresql-client)")
            raise typer.Exit(1)
        target = to or Path(f"ledger-{stamp}.dump")
        cmd = [pg_dump, "-Fc", "-f", str(target), "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
               "-U", url.username or "postgres", url.database]
        out = subprocess.run(cmd, capture_output=True, text=True,
                             env={**os.environ, **({"PGPASSWORD": url.password} if url.password else {})})
        if out.returncode:
            err.print(f"[red]error[/red] pg_dump failed: {out.stderr.strip()}")
            raise typer.Exit(1)
    console.print(f"ledger backed up to {target} ({target.stat().st_size / 1024:.0f} KiB)")
