"""Whether a route can run on a line, said before any wafer moves: it passes the linter, and each
step has a tool of its kind that holds what its recipe needs (capabilities, e.g. a plating bath)
and is qualified for the recipe (the line config's `qualified` list) — not found out as a NO_TOOL
hold half-way."""
from __future__ import annotations

from pathlib import Path

from line.config import LineConfig
from line.recipes.catalog import RecipeCatalog
from line.recipes.identity import production_mode
from line.recipes.linter import lint
from line.recipes.route import Route, load_route
from line.yamlio import DocumentError, Problem, format_path, locate


def load_runnable_route(path: str | Path, recipes_root: str | Path, line: LineConfig) -> Route:
    """The route, or a DocumentError with every lint error and every step no tool may run (and, in
    production mode, a route that names no product)."""
    route = load_route(path, RecipeCatalog(recipes_root, line.tools))
    errors = [p for p in lint(route) if p.severity == "error"] + unrunnable_steps(route, line) + production_problems(route)
    if errors:
        raise DocumentError(errors)
    return route


def unrunnable_steps(route: Route, line: LineConfig) -> list[Problem]:
    problems = []
    for rs in route.steps:
        kind, name = rs.step.tool_kind, rs.recipe.name
        if line.may_run(kind, name, rs.body):
            continue
        why = line.why_none_may_run(kind, name, rs.body)
        ln, col = route.where(rs.index, "recipe")
        problems.append(Problem(route.path, ln, col, format_path(("spec", "steps", rs.index, "recipe")),
                                "no-qualified-tool",
                                f"step {rs.step.id}: no tool of line {line.metadata.name} ({line.source}) may run "
                                f"{rs.recipe.ref}: {why}"))
    return problems


def production_problems(route: Route, production: bool | None = None) -> list[Problem]:
    """A route that names no product is an engineering route: the process rules hold for it, but
    nothing says what it must build, so it never runs in production mode (`BUMPLINE_MODE=production`)."""
    if route.product is not None or not (production_mode() if production is None else production):
        return []
    line, col = locate(route.doc, ("spec",))
    return [Problem(route.path, line, col, "spec.product", "engineering-route",
                    f"{route.ref} names no product, so nothing can verify what it builds: an engineering route "
                    "never runs in production mode (BUMPLINE_MODE=production)")]
