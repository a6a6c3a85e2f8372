"""`bumpline recipe …`: validate tool recipes before anything runs."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from line.cli.common import LineOption, console, err, or_exit
from line.config import load_line
from line.recipes.tool_recipe import load_tool_recipe
from line.yamlio import DocumentError

app = typer.Typer(no_args_is_help=True, help="Validate recipes.")


def expand(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out += sorted(p.rglob("*.yaml")) if p.is_dir() else [p]
    return out


@app.command()
def validate(paths: list[str] = typer.Argument(..., help="recipe files or folders"), line: str = LineOption) -> None:
    """Check each recipe against its schema and the limits of every tool of its kind in the line."""
    cfg = or_exit(lambda: load_line(line))
    bad = 0
    for path in expand(paths):
        try:
            r = load_tool_recipe(path, cfg.tools)
            console.print(f"[green]ok[/green]   {path}  {r.ref}  sha256 {r.sha256[:12]}")
        except DocumentError as exc:
            bad += 1
            for p in exc.problems:
                err.print(f"[red]error[/red] {escape(str(p))}", highlight=False, soft_wrap=True)
    if bad:
        raise typer.Exit(1)
