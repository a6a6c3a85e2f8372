"""`ToolRecipe` documents: an envelope (apiVersion, kind, metadata) around one tool kind's parameters.

The parameters are validated by the model the kind's driver publishes, then against the limits of
the tools that may run them (the line config). Identity: name + version + SHA-256 of the canonical
parameter body — the same bytes the tool receives, so the tool's own hash confirms what it holds —
or, for a recipe that declares tuning bounds (`spec.tuning`, run-to-run control's knob), of the body
and the bounds together, so approving the recipe approves how far the knob may move.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.jobs import body_hash
from drivers.limits import check_limits
from drivers.registry import DRIVERS
from line.config import LineConfig, ToolConfig, ToolKind
from line.recipes.tuning import Tuning, tuning_problems
from line.yamlio import DocumentError, Problem, format_path, load_yaml, locate, plain, validate


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecipeMetadata(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="recipe name (lowercase, dashes)")
    version: int = Field(ge=1, le=1_000_000, description="bump for every change of the body; a version is immutable")
    description: str = ""
    author: str = ""


class ToolRecipeSpec(Strict):
    tool_kind: ToolKind
    parameters: dict[str, Any]
    tuning: Tuning | None = Field(None, description="the knob run-to-run control may move, within these bounds")


class ToolRecipeDoc(Strict):
    apiVersion: Literal["bumpline/v1"]
    kind: Literal["ToolRecipe"]
    metadata: RecipeMetadata
    spec: ToolRecipeSpec


@dataclass(frozen=True)
class ToolRecipe:
    path: str
    name: str
    version: int
    tool_kind: str
    parameters: BaseModel
    body: dict[str, Any]
    sha256: str
    tuning: Tuning | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def body_sha256(self) -> str:
        """Of the parameters alone: what a tool holding this body reports."""
        return body_hash(self.body)


def load_tool_recipe(path: str | Path, tools: list[ToolConfig] | None = None, text: str | None = None) -> ToolRecipe:
    """Load and validate; raise `DocumentError` naming file, line, column, field and rule."""
    path = str(path)
    doc = load_yaml(path, text)
    if not isinstance(doc, dict):
        raise DocumentError([Problem(path, 1, 1, "", "document-type", "a ToolRecipe must be a YAML mapping")])
    env = validate(path, doc, ToolRecipeDoc, data=plain(doc))
    model = DRIVERS[env.spec.tool_kind].recipe_model
    prefix = ("spec", "parameters")
    params = validate(path, doc, model, prefix=prefix, data=plain(doc["spec"]["parameters"]))
    body = params.model_dump(mode="json")
    kind_tools = [t for t in tools or [] if t.kind == env.spec.tool_kind]
    problems = limit_problems(path, doc, body, prefix, kind_tools)
    tuning = env.spec.tuning
    if tuning is not None:
        problems += tuning_problems(path, doc, env.spec.tool_kind, body, tuning, kind_tools)
    if problems:
        raise DocumentError(problems)
    identity = body_hash(body) if tuning is None else body_hash({"parameters": body, "tuning": tuning.model_dump(mode="json")})
    return ToolRecipe(path, env.metadata.name, env.metadata.version, env.spec.tool_kind, params, body, identity, tuning)


def limit_problems(path: str, doc: Any, body: dict[str, Any], prefix: tuple, tools: list[ToolConfig]) -> list[Problem]:
    problems = []
    for tool in tools:
        for sub, rule in check_limits(body, tool.effective_limits()):
            loc = prefix + sub
            line, col = locate(doc, loc)
            problems.append(Problem(path, line, col, format_path(loc), "tool-limit", f"{rule} (limit of {tool.id})"))
    return problems


def tools_for(line: LineConfig | None, tool_id: str | None = None) -> list[ToolConfig]:
    if line is None:
        return []
    return [line.tool(tool_id)] if tool_id else list(line.tools)


def recipe_findings(recipe: ToolRecipe) -> list[Problem]:
    """The kind's recipe-level rules (Faraday consistency, stencil area ratio, three-ball …) on a tool
    recipe validated on its own, located in its file — the same rules a route runs at each step."""
    findings = DRIVERS[recipe.tool_kind].paper_model().checks(recipe.parameters)
    if not findings:
        return []
    doc = load_yaml(recipe.path)
    out = []
    for f in findings:
        loc = ("spec", "parameters", *f.path)
        line, col = locate(doc, loc)
        out.append(Problem(recipe.path, line, col, format_path(loc), f.rule, f"{recipe.ref}: {f.message}"))
    return out
