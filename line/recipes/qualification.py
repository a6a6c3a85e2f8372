"""Which steps of a route the line can run: a step needs a tool of its kind that holds what its
recipe needs (capabilities, e.g. a plating bath) and is qualified for the recipe (the line config's
`qualified` list) — said before any wafer moves, not found out as a NO_TOOL hold half-way."""
from __future__ import annotations

from line.config import LineConfig
from line.recipes.route import Route
from line.yamlio import Problem, format_path


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
