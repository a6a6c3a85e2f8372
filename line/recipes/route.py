"""`Route` documents: the ordered steps that build a product — per-step recipe references, overrides
and specs, and which claim elements each step makes (traceability). What the product must be (its
incoming design, finished structure and claim predicates) lives in its `Product` document, never in
the route; an engineering route names no product and carries its own incoming design."""
from __future__ import annotations

import copy
import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from drivers.jobs import body_hash
from drivers.registry import DRIVERS, SPECS
from line.config import ToolKind
from line.recipes.catalog import RecipeCatalog, document_kind
from line.recipes.product import Product, RegionDesign
from line.recipes.tool_recipe import RecipeMetadata, ToolRecipe
from line.recipes.tuning import knob_value
from line.spc.rules import RULES as WE_RULES
from line.yamlio import DocumentError, Problem, format_path, load_yaml, locate, plain, validate, validation_problems

REF = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]*)@v(?P<version>\d+)$")
PATH_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?")
MEASUREMENT_NAMES = sorted({m.name for spec in SPECS.values() for m in spec.measurements})
MEASUREMENT_EXAMPLES: dict[str, Any] = {"examples": MEASUREMENT_NAMES}   # the JSON Schema offers them


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpcSpec(Strict):
    """Statistical process control of a spec'd measurement: which chart (limits from the baseline an
    engineer freezes with `bumpline spc baseline`; none, no SPC action), which Western Electric rules,
    and what a signal does — hold the lot, or flag the tool so dispatch prefers others for the step."""
    chart: Literal["imr", "xbar_r", "xbar_s"] = Field("imr", description="imr: lot means; xbar_r / xbar_s: "
                                                                        "the lot's wafers as the subgroup")
    rules: list[int] = Field([1, 2, 3, 4], description="Western Electric rules 1–4")
    action: Literal["hold", "flag"] = "hold"

    @field_validator("rules")
    @classmethod
    def _rules(cls, v: list[int]) -> list[int]:
        if not v or len(set(v)) != len(v) or not set(v) <= set(WE_RULES):
            raise ValueError(f"rules: one or more of {', '.join(map(str, WE_RULES))}, each once")
        return v


class Spec(Strict):
    measurement: str = Field(description="a measurement the step's tool kind reports (its spec declares them)",
                             json_schema_extra=MEASUREMENT_EXAMPLES)
    unit: str = ""
    target: float | None = None
    lsl: float | None = None
    usl: float | None = None
    spc: SpcSpec | None = None

    @model_validator(mode="after")
    def _limits(self) -> Spec:
        if self.lsl is None and self.usl is None:
            raise ValueError("a spec needs an lsl, a usl or both")
        if not all(math.isfinite(v) for v in (self.lsl, self.usl, self.target) if v is not None):
            raise ValueError("lsl, usl and target must be finite numbers (a NaN limit can never trip)")
        if self.lsl is not None and self.usl is not None and not self.lsl < self.usl:
            raise ValueError(f"needs lsl < usl, not {self.lsl:g} ≥ {self.usl:g}")
        lo = self.lsl if self.lsl is not None else float("-inf")
        hi = self.usl if self.usl is not None else float("inf")
        if lo > hi or (self.target is not None and not lo <= self.target <= hi):
            raise ValueError("needs lsl ≤ target ≤ usl")
        return self


class QueueLimit(Strict):
    """The most time a lot may wait between an earlier step's end and this step's start (the process
    reference's queue-time limits: a Cu seed oxidises, a developed resist ages, paste dries)."""
    since: str = Field(description="the earlier step of this route whose end starts the clock")
    max_h: float = Field(gt=0, allow_inf_nan=False, description="hours of process (tool) time")
    why: str = Field(min_length=3, description="what goes wrong past it — shown with the hold")


class Step(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    operation: str
    tool_kind: ToolKind
    recipe: str = Field(description="tool recipe reference, name@vN")
    overrides: dict[str, Any] = {}
    specs: list[Spec] = []
    creates: list[str] = []
    note: str = ""
    r2r: bool = Field(False, description="run-to-run control moves the recipe's tuning knob before each lot, "
                                         "steering its measurement to this step's spec target (off: the approved "
                                         "body as it is)")
    queue_limits: list[QueueLimit] = Field([], description="the dispatcher starts this step within each limit of an "
                                                            "earlier step's end (a lot near one goes first); a lot past "
                                                            "one is held QUEUE_TIME")

    @field_validator("recipe")
    @classmethod
    def _ref(cls, v: str) -> str:
        if not REF.match(v):
            raise ValueError("a recipe reference is name@vN, e.g. pvd-ti100-cu300-seed@v1")
        return v


class RouteSpec(Strict):
    product: str | None = Field(None, pattern=r"^[A-Z]$",
                                description="the product this route builds (recipes/products); none for an engineering route")
    variant: str = ""
    incoming: dict[str, RegionDesign] | None = Field(None, description="an engineering route's incoming design (a product route "
                                                                 "takes its product's)")
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RouteSpec:
        if self.product and self.incoming is not None:
            raise ValueError("a route that names a product takes its incoming design from the product: drop incoming")
        if not self.product and self.incoming is None:
            raise ValueError("an engineering route (no product) needs its own incoming design")
        total = sum(r.area_pct for r in (self.incoming or {}).values())
        if self.incoming is not None and abs(total - 100) > 0.01:
            raise ValueError(f"incoming region areas add up to {total:g} %, not 100 %")
        ids = [s.id for s in self.steps]
        if dup := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"step ids repeat: {', '.join(dup)}")

        return self


class RouteDoc(Strict):
    apiVersion: Literal["bumpline/v1"]
    kind: Literal["Route"]
    metadata: RecipeMetadata
    spec: RouteSpec


@dataclass(frozen=True)
class ResolvedStep:
    index: int
    step: Step
    recipe: ToolRecipe
    parameters: BaseModel          # the recipe with this step's overrides applied
    body: dict[str, Any]
    sha256: str                    # of the effective body (what the tool will be sent)


@dataclass
class Route:
    """A loaded route; its repr names it (path, name, version, hash and each step's overrides), not
    the whole document, so a failing example or a log line stays readable."""
    path: str
    doc: Any                       # the ruamel document, for positions
    name: str
    version: int
    spec: RouteSpec
    steps: list[ResolvedStep] = field(default_factory=list)
    sha256: str = ""
    product: Product | None = None

    def __repr__(self) -> str:
        changed = {s.id: s.overrides for s in self.spec.steps if s.overrides}
        return f"Route({self.path!r}, {self.ref}, sha256={self.sha256[:12]}, steps={len(self.spec.steps)}, overrides={changed})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """The same short form for pretty printers (hypothesis prints a failing example with one)."""
        printer.text(repr(self))

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def label(self) -> str:
        """Product letter and variant ("D-release"), or "engineering"."""
        return (self.spec.product or "engineering") + (f"-{self.spec.variant}" if self.spec.variant else "")

    def design(self) -> dict[str, dict[str, Any]]:
        """The incoming wafer, {region: {area_pct, layers}}: the product's, or an engineering route's own."""
        regions = self.product.spec.design if self.product else (self.spec.incoming or {})
        return {n: {"area_pct": r.area_pct, "layers": [l.model_dump() for l in r.layers]} for n, r in regions.items()}

    def where(self, *path: Any) -> tuple[int, int]:
        return locate(self.doc, ("spec", "steps") + path)


def apply_override(body: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `layers[1].time_s`-style paths in a recipe body; KeyError/IndexError if absent."""
    node: Any = body
    parts = dotted.split(".")
    for depth, part in enumerate(parts):
        m = PATH_PART.fullmatch(part)
        if not m:
            raise KeyError(part)
        key, idx = m.group(1), m.group(2)
        last = depth == len(parts) - 1
        if key not in node:
            raise KeyError(key)
        if idx is None:
            if last:
                node[key] = value
            else:
                node = node[key]
        else:
            if last:
                node[key][int(idx)] = value
            else:
                node = node[key][int(idx)]


def load_route(path: str | Path, catalog: RecipeCatalog, text: str | None = None) -> Route:
    path = str(path)
    doc = load_yaml(path, text)
    if not isinstance(doc, dict):
        raise DocumentError([Problem(path, 1, 1, "", "document-type", "a Route must be a YAML mapping")])
    parsed = validate(path, doc, RouteDoc, data=plain(doc))
    route = Route(path, doc, parsed.metadata.name, parsed.metadata.version, parsed.spec,
                  sha256=body_hash(plain(doc)["spec"]))
    problems: list[Problem] = []
    if parsed.spec.product:
        route.product = catalog.product(parsed.spec.product, parsed.spec.variant)
        if route.product is None:
            have = ", ".join(p.label for p in catalog.products.values()) or "none"
            line, col = locate(doc, ("spec", "product"))
            problems.append(Problem(path, line, col, "spec.product", "product-not-found",
                                    f"no Product document for {parsed.spec.product}"
                                    + (f" variant {parsed.spec.variant!r}" if parsed.spec.variant else "")
                                    + f" under {catalog.root} (products: {have})"))
    for i, step in enumerate(parsed.spec.steps):
        resolved = resolve_step(route, i, step, catalog, problems)
        if resolved:
            route.steps.append(resolved)
    problems += claim_problems(route)
    if problems:
        raise DocumentError(problems)
    return route


def resolve_step(route: Route, i: int, step: Step, catalog: RecipeCatalog,
                 problems: list[Problem]) -> ResolvedStep | None:
    def problem(sub: tuple, rule: str, msg: str) -> None:
        line, col = route.where(i, *sub)
        problems.append(Problem(route.path, line, col, format_path(("spec", "steps", i) + sub), rule,
                                f"step {step.id}: {msg}"))

    m = REF.match(step.recipe)
    if m is None:               # the Step model validated the reference: this is a broken invariant
        raise DocumentError([Problem(route.path, *route.where(i, "recipe"), "recipe", "recipe-ref", step.recipe)])
    recipe = catalog.get(m["name"], int(m["version"]))
    if recipe is None:
        have = catalog.versions(m["name"])
        broken = sorted({p.file for p in catalog.problems})
        problem(("recipe",), "recipe-not-found", f"no tool recipe {step.recipe} under {catalog.root}"
                + (f" (versions: {', '.join(f'v{v}' for v in have)})" if have else "")
                + (f"; these recipe files do not validate: {', '.join(broken)}" if broken else ""))
        return None
    if recipe.tool_kind != step.tool_kind:
        problem(("tool_kind",), "kind-mismatch", f"{step.recipe} is a {recipe.tool_kind} recipe, the step says {step.tool_kind}")
        return None
    body = copy.deepcopy(recipe.body)
    for key, value in step.overrides.items():
        try:
            apply_override(body, key, value)
        except (KeyError, IndexError, TypeError):
            problem(("overrides", key), "unknown-parameter", f"{step.recipe} has no parameter {key!r}")
            return None
    model = DRIVERS[step.tool_kind].recipe_model
    try:
        params = model.model_validate(body)
    except ValidationError as exc:
        for p in validation_problems(route.path, route.doc, exc):
            problem(("overrides",), p.rule, f"with its overrides, {step.recipe} breaks {format_path(p.path.split('.'))}: "
                                            f"{p.message}")
        return None
    final = params.model_dump(mode="json")
    for j, spec in enumerate(step.specs):
        for sub, rule, msg in spec_problems(step.tool_kind, spec, final, step.recipe):
            problem(("specs", j) + sub, rule, msg)
    if step.r2r:
        for sub, rule, msg in r2r_problems(step, recipe, final):
            problem(sub, rule, msg)
    return ResolvedStep(i, step, recipe, params, final, body_hash(final))


def r2r_problems(step: Step, recipe: ToolRecipe, body: dict[str, Any]) -> list[tuple[tuple, str, str]]:
    """Run-to-run control on a step needs the recipe's tuning bounds, the step's body inside them, and a
    spec target for the measurement it steers."""
    t = recipe.tuning
    if t is None:
        return [(("r2r",), "r2r-without-tuning", f"{step.recipe} declares no tuning bounds (spec.tuning): nothing "
                                                 "for run-to-run control to move")]
    out = []
    value = knob_value(body, t.knob)
    if not t.min <= value <= t.max:
        out.append((("overrides", t.knob) if t.knob in step.overrides else ("r2r",), "r2r-outside-bounds",
                    f"{t.knob} {value:g} lies outside {step.recipe}'s tuning bounds {t.min:g} … {t.max:g}"))
    if not any(s.measurement == t.measurement and s.target is not None for s in step.specs):
        out.append((("r2r",), "r2r-without-target", f"run-to-run control steers {t.measurement} to the step's spec "
                                                    f"target: give the step a spec of {t.measurement} with a target"))
    return out


def spec_problems(kind: str, spec: Spec, body: dict[str, Any], ref: str) -> list[tuple[tuple, str, str]]:
    """A spec that cannot work: a measurement the kind does not report, a unit it does not use, a
    window that holds none of the recipe's own targets (so the step could never pass)."""
    declared = SPECS[kind].measurement(spec.measurement)
    if declared is None:
        names = [m.name for m in SPECS[kind].measurements]
        near = difflib.get_close_matches(spec.measurement, names, n=1)
        return [(("measurement",), "unknown-measurement",
                 f"a {kind} reports no {spec.measurement!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
                 + f"; it reports: {', '.join(names)}")]
    out: list[tuple[tuple, str, str]] = []
    if spec.unit and declared.unit and spec.unit != declared.unit:
        out.append((("unit",), "unit-mismatch", f"{spec.measurement} is reported in {declared.unit}, not {spec.unit}"))
    targets = declared.recipe_targets(body, spec.measurement) if declared.recipe_targets else []
    lo = spec.lsl if spec.lsl is not None else -math.inf
    hi = spec.usl if spec.usl is not None else math.inf
    if targets and not any(lo <= t <= hi for t in targets):
        window = f"[{'' if spec.lsl is None else f'{spec.lsl:g}'}, {'' if spec.usl is None else f'{spec.usl:g}'}]"
        out.append((("lsl",), "spec-excludes-target",
                    f"{ref} aims {spec.measurement} at {', '.join(f'{t:g}' for t in targets)} {declared.unit}, outside "
                    f"the spec {window}: the step could never pass"))
    return out


def claim_problems(route: Route) -> list[Problem]:
    """Every `creates` names a claim element of the route's product (the predicates say whether the
    finished wafer has it; the linter checks the step made what the predicates found)."""
    problems = []
    for i, step in enumerate(route.spec.steps):
        for j, element in enumerate(step.creates):
            if route.product is not None and route.product.claim(element) is not None:
                continue
            line, col = route.where(i, "creates", j)
            why = (f"product {route.product.label} has no claim element {element!r} "
                   f"(it has {', '.join(c.id for c in route.product.spec.claims)})" if route.product
                   else "an engineering route names no product, so it creates no claim elements")
            if route.product is None and route.spec.product:
                continue                      # product-not-found is already reported
            problems.append(Problem(route.path, line, col, format_path(("spec", "steps", i, "creates", j)),
                                    "claim-unknown", f"step {step.id} creates {element!r}: {why}"))
    return problems


def find_route(ref: str, catalog: RecipeCatalog) -> Route:
    """The route document `name@vN` under the catalog's folder (what a lot in the ledger ran)."""
    m = REF.match(ref)
    if m is None:
        raise DocumentError([Problem(ref, 1, 1, "", "route-ref", f"{ref!r} is not a route reference (name@vN)")])
    versions = []
    for path in sorted(catalog.root.rglob("*.yaml")):
        if document_kind(path) != "Route":
            continue
        doc = load_yaml(path)
        meta = doc.get("metadata", {}) if isinstance(doc, dict) else {}
        if meta.get("name") == m["name"]:
            versions.append(meta.get("version"))
            if meta.get("version") == int(m["version"]):
                return load_route(path, catalog)
    have = f" (versions there: {', '.join(f'v{v}' for v in versions)})" if versions else ""
    raise DocumentError([Problem(str(catalog.root), 1, 1, "", "route-not-found", f"no route {ref} under {catalog.root}{have}")])
