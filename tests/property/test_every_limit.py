"""Every number of every shipped route at the ends of its range: each numeric parameter of each step
that has a limit, set alone to the lowest and to the highest value some tool of the line takes (each
recipe's parameter once, at the first step that runs it), must end the same on paper and on the
simulators — and where a simulated tool alarms at zero noise, the linter must have refused the route.
The generated-variant property samples combinations; this sweeps the edges, where the paper models
and the simulators' physics part first (it found the sputter pre-clean, the oven purge and the
chamber's base pressure)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from drivers.errors import InterlockViolation, ToolAlarm
from line.recipes.route import load_route
from line.yamlio import DocumentError
from tests.property.simulate import differences
from tests.property.test_paper_vs_simulator import CATALOG, ROUTES, numeric_leaves, refusals


def edges(path: Path, seen: set[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    """(step, leaf, value) for each leaf at each end, skipping steps that already carry overrides and
    a (recipe, leaf, value) an earlier step or route already swept."""
    route = load_route(path.name, CATALOG, text=path.read_text())
    lines = path.read_text().splitlines()
    out = []
    for rs in route.steps:
        at = next(i for i, l in enumerate(lines) if f"{{id: {rs.step.id}," in l)
        if "overrides:" in "\n".join(lines[at:at + 3]):
            continue
        for where, limit in numeric_leaves(rs.body, rs.step.tool_kind):
            for value in (limit.min, limit.max):
                key = (rs.step.recipe, re.sub(r"\[\d+\]", "[]", where), value)
                if key not in seen:
                    seen.add(key)
                    out.append((rs.step.id, where, value))
    return out


SEEN: set[tuple[str, str, float]] = set()
CHUNK = 40          # edges per test, so the workers share a long route's sweep
EDGES = {f"{p.stem}-{i // CHUNK}": (p, found[i:i + CHUNK])
         for p in ROUTES for found in [edges(p, SEEN)] for i in range(0, len(found), CHUNK)}


@pytest.mark.parametrize("part", sorted(EDGES))
def test_every_parameter_at_its_ends_runs_as_the_paper_says(part: str) -> None:
    path, sweep = EDGES[part]
    text = path.read_text()
    failures, compared = [], 0
    for step, where, value in sweep:
        edited = text.replace(f"{{id: {step}, ", f"{{id: {step}, overrides: {{'{where}': {value}}}, ", 1)
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
