"""`LotPlan`: what a lot will run, resolved once when its flow starts and never changed after —
the steps in order with their recipes (identity, the body actually sent, specs), which tools may
run each, and the line. Step tasks take the plan; they re-read no file and pass no paths or ports.

A route makes a plan; so does a single tool recipe (`bumpline run`): a one-step route, pinned to
the tool asked for, whose spec is the recipe's own targets ± a tolerance.

The plan fixes *what* runs. *Which tool* may run a step is asked of the line config as it is at
dispatch (`current_line`, re-read only when its file changed): a tool an engineer disqualified or
took off the line mid-lot is not used, and a step no tool may run any more holds NO_TOOL.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from drivers.registry import kind_spec
from line.config import LineConfig, ToolConfig, load_line
from line.recipes.catalog import RecipeCatalog
from line.recipes.catalog import document_kind as catalog_document_kind
from line.recipes.linter import lint
from line.recipes.route import QueueLimit, Route, Spec, load_route
from line.recipes.tool_recipe import ToolRecipe, load_tool_recipe
from line.yamlio import DocumentError, Problem, load_yaml


@dataclass(frozen=True)
class PlannedStep:
    id: str
    kind: str
    operation: str
    recipe: ToolRecipe
    parameters: BaseModel
    body: dict[str, Any]
    sha256: str
    specs: tuple[Spec, ...] = ()
    pinned_tool: str = ""
    """a one-step plan runs where it was asked to, or holds NO_TOOL"""
    tolerance_pct: float = 10.0
    """without route specs: each measurement's own target ± this"""
    r2r: bool = False
    """run-to-run control moves the recipe's tuning knob before each lot"""
    queue_limits: tuple[QueueLimit, ...] = ()
    """start within `max_h` of process time after an earlier step's end"""

    @property
    def r2r_target(self) -> float | None:
        """The spec target R2R steers the recipe's tuning measurement to (the route linter requires one)."""
        t = self.recipe.tuning
        if not self.r2r or t is None:
            return None
        return next((s.target for s in self.specs if s.measurement == t.measurement and s.target is not None), None)


@dataclass(frozen=True)
class LotPlan:
    ref: str
    """the route reference recorded with the lot (name@vN, or single-step:<recipe file>)"""
    product: str
    line: LineConfig
    steps: tuple[PlannedStep, ...]
    route: Route | None = field(default=None, compare=False)
    """the approved route document (None for a one-step plan, whose recipe is approved per step)"""
    lot_wafers: int = 25
    """the lot's wafers: how many lots of it a batch tool's job can carry"""

    def current_line(self) -> LineConfig:
        """The line config as its file is now (the plan's own copy if it came from no file)."""
        source = self.line.source
        return load_line_cached(source) if Path(source).is_file() else self.line

    @property
    def clock_speed(self) -> float:
        """Tool seconds per wall second: the simulated line's clock, 1 on a real line (polls are paced by it)."""
        sim = self.current_line().simulation
        return sim.speed if sim is not None else 1.0

    @cached_property
    def bottleneck_kind(self) -> str | None:
        """The tool group this route loads most: each step's nominal job time (its kind's model, a
        lot of 25) over the tools that may run it — and, on batch tools, over the lots of this size
        one job carries — summed per kind: what the dispatcher feeds first."""
        load: dict[str, float] = {}
        for step in self.steps:
            tools = self.tools_for(step)
            if not tools:
                continue
            try:
                seconds = kind_spec(step.kind).job_time_s(step.body, 25, tools[0].options)
            except Exception:  # noqa: BLE001 - a body the model cannot price adds no load
                continue
            load[step.kind] = load.get(step.kind, 0.0) + seconds / len(tools) / lots_per_job(tools[0], self.lot_wafers)
        return max(load, key=lambda k: load[k]) if load else None

    def to_bottleneck(self, step: PlannedStep) -> int | None:
        """Steps from this one to the next at the bottleneck group (0: it is one); None past the last."""
        i = self.index_of(step)
        return next((j - i for j in range(i, len(self.steps)) if self.steps[j].kind == self.bottleneck_kind), None)

    def index_of(self, step: PlannedStep) -> int:
        """Where the step stands in the plan (0 first)."""
        return next(k for k, s in enumerate(self.steps) if s.id == step.id)

    def step(self, step_id: str) -> PlannedStep:
        return next(s for s in self.steps if s.id == step_id)

    def tools_for(self, step: PlannedStep) -> list[ToolConfig]:
        """The tools of the line that may run the step (capabilities, qualification, a pin)."""
        line = self.current_line()
        tools = line.may_run(step.kind, step.recipe.name, step.body)
        return [t for t in tools if t.id == step.pinned_tool] if step.pinned_tool else tools

    def why_no_tool(self, step: PlannedStep) -> str:
        line = self.current_line()
        if step.pinned_tool and step.pinned_tool in {t.id for t in line.tools}:
            return str(line.tool(step.pinned_tool).refusal(step.kind, step.recipe.name, step.body))
        if step.pinned_tool:
            return f"line {line.metadata.name} has no tool {step.pinned_tool}"
        return line.why_none_may_run(step.kind, step.recipe.name, step.body)


def lots_per_job(tool: ToolConfig, lot_wafers: int) -> int:
    """How many lots of `lot_wafers` one job of the tool carries at most (1 but on a batch tool)."""
    return max(1, tool.batch.max_wafers // max(1, lot_wafers)) if tool.batch is not None else 1


def route_plan(route: Route, line: LineConfig) -> LotPlan:
    steps = tuple(PlannedStep(rs.step.id, rs.step.tool_kind, rs.step.operation, rs.recipe, rs.parameters, rs.body,
                              rs.sha256, tuple(rs.step.specs), r2r=rs.step.r2r,
                              queue_limits=tuple(rs.step.queue_limits)) for rs in route.steps)
    return LotPlan(route.ref, route.label, line, steps, route)


def single_step_plan(recipe: ToolRecipe, line: LineConfig, tool_id: str = "", step_id: str = "S1",
                     tolerance_pct: float = 10.0) -> LotPlan:
    step = PlannedStep(step_id, recipe.tool_kind, recipe.tool_kind, recipe, recipe.parameters, recipe.body,
                       recipe.body_sha256, (), tool_id, tolerance_pct)
    return LotPlan(f"single-step:{recipe.path}", "", line, (step,))


def document_kind(path: str | Path) -> str:
    """Route or ToolRecipe (read from its plain `kind:` line, or parsed); anything else is refused."""
    kind = catalog_document_kind(path)
    if kind not in ("Route", "ToolRecipe"):
        load_yaml(path)                          # a document that does not parse says where
        raise DocumentError([Problem(str(path), 1, 1, "kind", "document-kind",
                                     f"a lot runs a Route or a ToolRecipe, not {kind or None!r}")])
    return kind


def load_plan(path: str, line_path: str, recipes_root: str, tool_id: str = "", step_id: str = "S1",
              tolerance_pct: float = 10.0) -> LotPlan:
    """The plan for a route file (linted) or a tool recipe file (a one-step route)."""
    if document_kind(path) == "ToolRecipe":
        line = load_line(line_path)
        tools = [line.tool(tool_id)] if tool_id else list(line.tools)
        return single_step_plan(load_tool_recipe(path, tools), line, tool_id, step_id, tolerance_pct)
    route, line = load_for_run(path, line_path, recipes_root)
    return route_plan(route, line)


def load_for_run(route_path: str, line_path: str, recipes_root: str) -> tuple[Route, Any]:
    """The route (linted) and line config, loaded once per process and again only when a file it
    was made from changed (the route, the line config, the recipes the route uses): a flow run
    resumed in the same worker asks again, and statting the files costs well under 1 ms."""
    key = (route_path, line_path, recipes_root)
    with _loaded_lock:
        known = _loaded.get(key)
        if known is None or _fingerprint(known[0]) != known[1]:
            route, line = _load_for_run(route_path, line_path, recipes_root)
            files = [route_path, line_path, *sorted({rs.recipe.path for rs in route.steps})]
            _loaded[key] = known = (files, _fingerprint(files), (route, line))
        return known[2]


_loaded: dict[tuple, tuple[list[str], tuple, tuple[Route, Any]]] = {}
_loaded_lock = threading.Lock()


def _fingerprint(files: list[str]) -> tuple:
    out: list[tuple[Any, ...]] = []
    for f in map(Path, files):
        try:
            st = f.stat()
        except OSError:
            out.append((str(f), None))      # gone: differs from what was loaded
            continue
        out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)


def _load_for_run(route_path: str, line_path: str, recipes_root: str) -> tuple[Route, Any]:
    line = load_line(line_path)
    # lint only: whether each step has a tool is asked when the lot starts (`load_runnable_route`) and
    # again by each step at dispatch, where a tool gone since is a NO_TOOL hold, not a crashed lot
    route = load_route(route_path, RecipeCatalog.cached(recipes_root, line.tools))
    errors = [p for p in lint(route) if p.severity == "error"]
    if errors:
        raise DocumentError(errors)
    return route, line


_lines: dict[str, tuple[tuple, LineConfig]] = {}


def load_line_cached(path: str) -> LineConfig:
    """A line config file, read again only when it changed (a stat, well under 1 ms)."""
    with _loaded_lock:
        known = _lines.get(path)
        stamp = _fingerprint([path])
        if known is None or known[0] != stamp:
            known = _lines[path] = (stamp, load_line(path))
        return known[1]
