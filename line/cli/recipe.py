"""`bumpline recipe …`: validate, hash, approve, diff and export schemas of recipes and routes."""
from __future__ import annotations

import getpass
import json
import os
from functools import partial
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from drivers.modbus_spec import flatten
from line.cli.common import LineOption, console, err, or_exit
from line.config import LineConfig, load_line
from line.ledger import Ledger
from line.ledger.database import home
from line.recipes.catalog import RecipeCatalog, document_kind
from line.recipes.identity import VersionChanged, changed_message, lookup, production_mode
from line.recipes.identity import approve as approve_version
from line.recipes.linter import lint
from line.recipes.product import Product, load_product
from line.recipes.qualification import unrunnable_steps
from line.recipes.route import Route, load_route
from line.recipes.schema import json_schema, modeline
from line.recipes.tool_recipe import ToolRecipe, load_tool_recipe, recipe_findings
from line.yamlio import DocumentError, Problem, load_yaml

app = typer.Typer(no_args_is_help=True, help="Validate, hash, approve, diff recipes and routes; export schemas.")
RecipesRoot = typer.Option("recipes", "--recipes", help="folder of tool recipes that routes refer to")


def expand(paths: list[str]) -> list[Path]:
    """Files as given, folders as every YAML file under them; a folder with none, or a path that does
    not exist, is an error (a validation that checked nothing must not pass)."""
    out: list[Path] = []
    if any(not p.strip() for p in paths):
        err.print("[red]error[/red] an empty path: name the files or folders to check")
        raise typer.Exit(1)
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.rglob("*.yaml"))
            if not found:
                err.print(f"[red]error[/red] {p}: no YAML documents (*.yaml) under this folder")
                raise typer.Exit(1)
            out += found
        elif not p.exists():
            err.print(f"[red]error[/red] {p}: no such file")
            raise typer.Exit(1)
        else:
            out.append(p)
    return out


def load_any(path: Path, catalog: RecipeCatalog, cfg: LineConfig) -> tuple[ToolRecipe | Route | Product, list[Problem]]:
    """A ToolRecipe, a Product, or a Route with its lint findings and the steps no tool of the line
    may run; DocumentError on a broken document."""
    kind = document_kind(path)
    if kind == "Product":
        return load_product(path), []
    if kind == "Route":
        route = load_route(path, catalog)
        return route, lint(route) + unrunnable_steps(route, cfg)
    recipe = load_tool_recipe(path, cfg.tools)
    return recipe, recipe_findings(recipe)


def doc_kind(doc: ToolRecipe | Route | Product) -> str:
    return "Route" if isinstance(doc, Route) else "Product" if isinstance(doc, Product) else "ToolRecipe"


def show(problems: list[Problem]) -> None:
    for p in problems:
        tag = "[yellow]warning[/yellow]" if p.severity == "warning" else "[red]error[/red]"
        err.print(f"{tag} {escape(str(p))}", highlight=False, soft_wrap=True)


@app.command()
def validate(paths: list[str] = typer.Argument(..., help="recipe or route files, or folders"),
             line: str = LineOption, recipes: str = RecipesRoot) -> None:
    """Check schemas, tool limits, route process rules — and that no known version was edited."""
    cfg = or_exit(lambda: load_line(line))
    catalog = RecipeCatalog(recipes, cfg.tools)
    ledger = Ledger() if _ledger_exists() else None   # read-only use: a new machine has no ledger yet
    bad = 0
    for path in expand(paths):
        try:
            doc, findings = load_any(path, catalog, cfg)
        except DocumentError as exc:
            bad += 1
            show(exc.problems)
            continue
        errors = [f for f in findings if f.severity == "error"]
        show(findings)
        known = lookup(ledger, doc_kind(doc), doc.name, doc.version) if ledger else None
        if known and known.sha256 != doc.sha256:
            errors.append(Problem(str(path), 1, 1, "metadata.version", "immutable-version",
                                  changed_message(known, doc.sha256, str(path))))
            show(errors[-1:])
        bad += bool(errors)
        if not errors:
            status = f" ({known.status})" if known else ""
            console.print(f"[green]ok[/green]   {path}  {doc.ref}  sha256 {doc.sha256[:12]}{status}", highlight=False)
    if bad:
        raise typer.Exit(1)


def _ledger_exists() -> bool:
    return bool(os.environ.get("BUMPLINE_DB_URL")) or (home() / "ledger.db").exists()


@app.command("hash")
def hash_(paths: list[str] = typer.Argument(..., help="recipe, route or product files, or folders"),
          line: str = LineOption, recipes: str = RecipesRoot) -> None:
    """Print the identity of each document: name@vN and the SHA-256 of its canonical body."""
    cfg = or_exit(lambda: load_line(line))
    catalog = RecipeCatalog(recipes, cfg.tools)
    for path in expand(paths):
        doc, _ = or_exit(partial(load_any, path, catalog, cfg))
        console.print(f"{doc.sha256}  {doc.ref}  {path}", highlight=False)


@app.command()
def approve(paths: list[str] = typer.Argument(..., help="recipe, route or product files, or folders"),
            by: str = typer.Option(..., "--by", help="who approves"),
            line: str = LineOption, recipes: str = RecipesRoot) -> None:
    """Approve versions (draft → approved, by whom, when) in the ledger; a clean lint is required."""
    cfg = or_exit(lambda: load_line(line))
    catalog = RecipeCatalog(recipes, cfg.tools)
    ledger = Ledger()
    for path in expand(paths):
        doc, findings = or_exit(partial(load_any, path, catalog, cfg))
        if errors := [f for f in findings if f.severity == "error"]:
            show(errors)
            err.print(f"[red]not approved[/red] {doc.ref}: the route has the errors above")
            raise typer.Exit(1)
        author = _author(path)
        if production_mode() and author and author.strip().lower() == by.strip().lower():
            err.print(f"[red]not approved[/red] {doc.ref}: {by} wrote it (metadata.author); in production mode "
                      "another person approves")
            raise typer.Exit(1)
        try:
            row = approve_version(ledger, doc_kind(doc), doc.name, doc.version, doc.sha256, str(path), by,
                                  ran_by=getpass.getuser())
        except VersionChanged as exc:
            err.print(f"[red]error[/red] {escape(str(exc))}")
            raise typer.Exit(1) from None
        console.print(f"approved {doc.ref} sha256 {doc.sha256[:12]} by {row.approved_by} at "
                      f"{row.approved_at:%Y-%m-%d %H:%M:%S}", highlight=False)


def _author(path: Path) -> str:
    doc = load_yaml(path)
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    return str(meta.get("author", "")) if isinstance(meta, dict) else ""


def body_of(doc: ToolRecipe | Route | Product) -> dict[str, Any]:
    if isinstance(doc, Route | Product):
        return {"spec": doc.spec.model_dump(mode="json")}
    return {"tool_kind": doc.tool_kind, "parameters": doc.body}


@app.command()
def diff(a: str = typer.Argument(..., help="the older file"), b: str = typer.Argument(..., help="the newer file"),
         line: str = LineOption, recipes: str = RecipesRoot) -> None:
    """What changed between two documents, parameter by parameter."""
    cfg = or_exit(lambda: load_line(line))
    catalog = RecipeCatalog(recipes, cfg.tools)
    da, _ = or_exit(lambda: load_any(Path(a), catalog, cfg))
    db, _ = or_exit(lambda: load_any(Path(b), catalog, cfg))
    console.print(f"--- {a}  {da.ref}  {da.sha256[:12]}\n+++ {b}  {db.ref}  {db.sha256[:12]}", highlight=False)
    fa, fb = flatten(body_of(da)), flatten(body_of(db))
    changes = 0
    for key in sorted(set(fa) | set(fb)):
        if fa.get(key) != fb.get(key):
            changes += 1
            left = "—" if key not in fa else json.dumps(fa[key], ensure_ascii=False)
            right = "—" if key not in fb else json.dumps(fb[key], ensure_ascii=False)
            console.print(f"  {key}: {escape(left)} → {escape(right)}", highlight=False)
    if da.sha256 != db.sha256 and (da.name, da.version) == (db.name, db.version):
        err.print(f"[red]same version {da.ref}, different bodies[/red]: one of them was edited without a new version")
    console.print(f"{changes} parameter(s) differ" if changes else "identical bodies")


@app.command()
def schema(kind: str = typer.Option(None, help="tool kind (ToolRecipe schema); omit for the Route schema"),
           out: str = typer.Option(None, "--out", "-o", help="write here instead of printing")) -> None:
    """JSON Schema for editor completion, and the modeline that points a YAML file at it."""
    doc = or_exit(lambda: json_schema(kind))
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {out}\nput this first line in a YAML file:\n{modeline(out)}", highlight=False)
    else:
        print(text)
