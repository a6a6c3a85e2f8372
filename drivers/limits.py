"""Parameter limits declared as data.

A tool kind declares hard limits per parameter name (what the hardware can do at all); a line
config may narrow them per tool. Recipes are checked against both, by name, wherever the
parameter sits in the recipe tree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field


@dataclass(frozen=True)
class Limit:
    min: float | None = None
    max: float | None = None
    unit: str = ""

    def narrowed(self, override: dict[str, float]) -> Limit:
        return Limit(override.get("min", self.min), override.get("max", self.max), self.unit)

    def violation(self, value: float) -> str | None:
        if self.min is not None and value < self.min:
            return f"below the minimum {self.min:g} {self.unit}".rstrip()
        if self.max is not None and value > self.max:
            return f"above the maximum {self.max:g} {self.unit}".rstrip()
        return None


def limited(limits: dict[str, Limit], name: str, **kw: Any) -> Any:
    """A pydantic Field carrying the declared hard limit, so the JSON Schema shows it too."""
    lim = limits[name]
    extra: dict[str, Any] | None = {"unit": lim.unit} if lim.unit else None
    return Field(ge=lim.min, le=lim.max, json_schema_extra=extra, **kw)


def walk_numbers(tree: Any, path: tuple = ()) -> list[tuple[tuple, str, float]]:
    """Every numeric leaf as (path, leaf name, value); used to apply limits by parameter name."""
    out: list[tuple[tuple, str, float]] = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += walk_numbers(v, path + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += walk_numbers(v, path + (i,))
    elif isinstance(tree, (int, float)) and not isinstance(tree, bool) and path:
        name = next((p for p in reversed(path) if isinstance(p, str)), "")
        out.append((path, name, float(tree)))
    return out


def check_limits(params: dict, limits: dict[str, Limit]) -> list[tuple[tuple, str]]:
    """(path, rule) for every numeric parameter outside its limit."""
    problems = []
    for path, name, value in walk_numbers(params):
        lim = limits.get(name)
        if lim is not None and (rule := lim.violation(value)):
            problems.append((path, f"{name}={value:g} is {rule}"))
    return problems
