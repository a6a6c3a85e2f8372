"""Shared CLI helpers: consoles, loading with clear errors, defaults."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from line.yamlio import DocumentError

# Piped output (CI logs, `| tee`) gets 120 columns instead of Rich's 80, so tables stay readable.
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
console = Console(soft_wrap=True, width=_WIDTH)
err = Console(stderr=True)
DEFAULT_LINE = "deploy/lines/sim.yaml"
LineOption = typer.Option(DEFAULT_LINE, "--line", "-l", envvar="BUMPLINE_LINE",
                          help="line config (tools, addresses, limits); default: $BUMPLINE_LINE, else deploy/lines/sim.yaml")

T = TypeVar("T")


def or_exit(load: Callable[[], T]) -> T:
    """Run a loader; a document error prints every problem (file:line:col: field: rule) and exits 1."""
    try:
        return load()
    except DocumentError as exc:
        for p in exc.problems:
            err.print(f"[red]error[/red] {escape(str(p))}", highlight=False, soft_wrap=True)
        err.print("[red]nothing was run[/red]")
        raise typer.Exit(1) from None
    except (KeyError, FileNotFoundError) as exc:
        err.print(f"[red]error[/red] {escape(str(exc.args[0] if exc.args else exc))}")
        raise typer.Exit(1) from None


def existing(path: str) -> str:
    if not Path(path).exists():
        err.print(f"[red]error[/red] {path}: no such file")
        raise typer.Exit(1)
    return path


def warm_up() -> None:
    """Start Prefect's server once, here, before lots start in parallel threads (each would try)."""
    from prefect import flow

    @flow(name="line-warm-up", persist_result=False)
    def line_warm_up() -> None:
        return None

    with console.status("starting Prefect (a cold start takes 20–40 s here)…"):
        line_warm_up()
