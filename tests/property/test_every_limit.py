"""Every number of every shipped route at the ends of its range: each numeric parameter of each step
that has a limit (every layer and segment of it), set alone to the lowest and to the highest value
some tool of the line takes — once per recipe, at the first step that runs it; a number the step
already overrides is left as it is — must end the same on paper and on the simulators, and where a
simulated tool alarms at zero noise, the linter must have refused the route. The generated-variant
property samples combinations; this sweeps the edges, where the paper models and the simulators'
physics part first (it found the sputter pre-clean, the oven purge and the chamber's base pressure)."""
from __future__ import annotations

from pathlib import Path

import pytest

from drivers.errors import InterlockViolation, ToolAlarm
from line.recipes.mutations import add_override
from line.recipes.route import load_route
from line.yamlio import DocumentError
from tests.property.simulate import differences
from tests.property.test_paper_vs_simulator import CATALOG, ROUTES, numeric_leaves, refusals


def edges(path: Path, seen: set[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    """(step, leaf, value) for each leaf at each end that a step of the route does not already
    override and no earlier step or route already swept for the same recipe."""
    route = load_route(path.name, CATALOG, text=path.read_text())
    out = []
    for rs in route.steps:
        for where, limit in numeric_leaves(rs.body, rs.step.tool_kind):
            if where in rs.step.overrides:
                continue
            for value in (limit.min, limit.max):
                if (rs.step.recipe, where, value) not in seen:
                    seen.add((rs.step.recipe, where, value))
                    out.append((rs.step.id, where, value))
    return out


SEEN: set[tuple[str, str, float]] = set()
CHUNK = 40          # edges per test, so the workers share a long route's sweep
EDGES = {f"{p.stem}-{i // CHUNK}": (p, found[i:i + CHUNK])
         for p in ROUTES for found in [edges(p, SEEN)] for i in range(0, len(found), CHUNK)}


def test_the_sweep_reaches_every_recipe_of_the_shipped_routes() -> None:
    routes = [load_route(p.name, CATALOG, text=p.read_text()) for p in ROUTES]
    used = {rs.step.recipe for r in routes for rs in r.steps if numeric_leaves(rs.body, rs.step.tool_kind)}
    assert {recipe for recipe, _, _ in SEEN} == used


@pytest.mark.parametrize("part", sorted(EDGES))
def test_every_parameter_at_its_ends_runs_as_the_paper_says(part: str) -> None:
    path, sweep = EDGES[part]
    text = path.read_text()
    failures, compared = [], 0
    for step, where, value in sweep:
        edited = add_override(text, step, f"'{where}': {value}")
        assert edited != text, f"{step}: the override was not written"
        try:
            route = load_route(path.name, CATALOG, text=edited)
        except DocumentError:
            continue                    # the recipe model refuses it (a rule between fields): nothing runs
        try:
            found = differences(route)
        except (ToolAlarm, InterlockViolation) as exc:
            if not refusals(route):
                failures.append(f"{step} {where}={value}: the simulator alarmed ({exc}) on a route the linter passes")
            continue
        compared += 1
        failures += [f"{step} {where}={value}: {d}" for d in found]
    assert not failures, "\n".join(failures)
    assert compared >= len(sweep) // 2, f"only {compared} of {len(sweep)} edges compared"
