"""A recipe's tuning bounds: the one knob run-to-run control may move (SEMI E40's "recipe with
variable tuning"), how far, and which measurement feeds it back. They sit beside the parameters in
the ToolRecipe document and are part of its identity (hash), so approving the recipe approves how
far the knob may move; the parameters' process rules (Faraday consistency, limits) apply to the
approved parent. The linter holds the bounds to the kind's hard limits and to every tool's."""
from __future__ import annotations

import copy
import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drivers.registry import DRIVERS, SPECS
from line.config import ToolConfig
from line.yamlio import Problem, format_path, locate

PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?")


def knob_value(body: dict[str, Any], path: str) -> Any:
    """The value at `time_s` or `layers[1].time_s` in a recipe body; None where there is none."""
    node: Any = body
    for part in path.split("."):
        m = PART.fullmatch(part)
        if m is None or not isinstance(node, dict) or m.group(1) not in node:
            return None
        node = node[m.group(1)]
        if m.group(2) is not None:
            i = int(m.group(2))
            if not isinstance(node, list) or i >= len(node):
                return None
            node = node[i]
    return node


def with_knob(body: dict[str, Any], path: str, value: float) -> dict[str, Any]:
    """A copy of the body with the knob at `path` set (an int knob stays an int)."""
    out = copy.deepcopy(body)
    *parents, last = path.split(".")
    node: Any = out
    for part in parents:
        m = PART.fullmatch(part)
        assert m is not None                      # checked when the recipe was loaded
        node = node[m.group(1)] if m.group(2) is None else node[m.group(1)][int(m.group(2))]
    m = PART.fullmatch(last)
    assert m is not None
    holder, key = (node, m.group(1)) if m.group(2) is None else (node[m.group(1)], int(m.group(2)))
    holder[key] = int(round(value)) if isinstance(holder[key], int) and not isinstance(holder[key], bool) else value
    return out


class Tuning(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    knob: str = Field(description="the one parameter R2R may move, e.g. time_s or layers[1].time_s")
    min: float = Field(description="the lowest value the engineer approves for it")
    max: float = Field(description="the highest value the engineer approves for it")
    measurement: str = Field(description="the per-wafer measurement of this step that feeds back, e.g. plated.thickness")
    model: Literal["proportional", "linear"] = Field(
        "proportional", description="proportional: output = b · knob (b estimated: Faraday, deposition time); "
                                    "linear: output = a + gain · knob (a estimated, gain declared)")
    gain: float | None = Field(None, description="linear only: output per unit of the knob")
    weight: float = Field(0.3, gt=0, le=1, description="EWMA weight of the newest lot (λ)")

    @model_validator(mode="after")
    def _sane(self) -> Tuning:
        if not (math.isfinite(self.min) and math.isfinite(self.max)) or not self.min < self.max:
            raise ValueError(f"needs finite min < max, not {self.min:g} … {self.max:g}")
        if self.model == "linear" and (self.gain is None or not math.isfinite(self.gain) or self.gain == 0):
            raise ValueError("a linear model needs a finite, non-zero gain")
        if self.model == "proportional" and self.gain is not None:
            raise ValueError("a proportional model estimates its gain; give none")
        return self


def tuning_problems(path: str, doc: Any, kind: str, body: dict[str, Any], tuning: Tuning,
                    tools: list[ToolConfig]) -> list[Problem]:
    """The bounds against the recipe and the kind: the knob is a number of the body, the parent's value
    lies inside the bounds, the bounds inside the kind's hard limits and every tool's, the measurement
    one the kind reports."""
    out: list[Problem] = []

    def bad(field: str, rule: str, message: str) -> None:
        loc = ("spec", "tuning", field)
        line, col = locate(doc, loc)
        out.append(Problem(path, line, col, format_path(loc), rule, message))

    value = knob_value(body, tuning.knob)
    if isinstance(value, bool) or not isinstance(value, int | float):
        numeric = sorted(n for n, v in body.items() if isinstance(v, int | float) and not isinstance(v, bool))
        bad("knob", "tuning-knob", f"{tuning.knob!r} is not a number of this {kind} recipe (top-level numbers: "
                                   f"{', '.join(numeric)}; a nested one as layers[1].time_s)")
        return out
    if not tuning.min <= value <= tuning.max:
        bad("min", "tuning-excludes-parent", f"the approved {tuning.knob} {value:g} lies outside the bounds "
                                             f"{tuning.min:g} … {tuning.max:g}")
    name = PART.fullmatch(tuning.knob.split(".")[-1]).group(1)  # type: ignore[union-attr]  # matched above
    hard = DRIVERS[kind].limits.get(name)
    for label, limit in ([("the kind", hard)] if hard else []) + [(t.id, t.effective_limits().get(name))
                                                                 for t in tools if t.kind == kind]:
        if limit is None:
            continue
        for field, v in (("min", tuning.min), ("max", tuning.max)):
            if (why := limit.violation(v)) is not None:
                bad(field, "tuning-limit", f"{tuning.knob} bound {v:g} is {why} ({label})")
    if not any(m.matches(tuning.measurement) for m in SPECS[kind].measurements):
        known = ", ".join(m.name for m in SPECS[kind].measurements)
        bad("measurement", "tuning-measurement", f"a {kind} does not report {tuning.measurement!r} (it reports {known})")
    return out
