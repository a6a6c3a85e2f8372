"""Whether a route can run on a line, said before any wafer moves: it passes the linter, and each
step has a tool of its kind that holds what its recipe needs (capabilities, e.g. a plating bath)
and is qualified for the recipe (the line config's `qualified` list) — not found out as a NO_TOOL
hold half-way."""
from __future__ import annotations

from pathlib import Path

from line.config import LineConfig
from line.recipes.catalog import RecipeCatalog
from line.recipes.linter import lint
from line.recipes.route import Route, load_route
from line.yamlio import DocumentError, Problem, format_path


def load_runnable_route(path: str | Path, recipes_root: str | Path, line: LineConfig) -> Route:
    """The route, or a DocumentError with every lint error and every step no tool may run."""
    route = load_route(path, RecipeCatalog(recipes_root, line.tools))
    errors = [p for p in lint(route) if p.severity == "error"] + unrunnable_steps(route, line)
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
