"""The route's final paper wafer against its product: every claim predicate, every region's finished
structure, every absence and shared end-of-route rule — each broken one a located problem naming
the predicate, the region and the step that last changed that region. And traceability: a step
that says it `creates` a claim element must have made a layer the element's predicates find."""
from __future__ import annotations

from typing import TYPE_CHECKING

from line.recipes.predicates import Finished, Verdict, evaluate, from_paper, made_by
from line.yamlio import Problem, format_path, locate

if TYPE_CHECKING:
    from line.recipes.linter import Linter
    from line.recipes.route import Route


def paper_view(linter: Linter) -> Finished:
    return from_paper(linter.wafer.regions, linter.wafer.reflows, linter.wafer.flags)


def product_problems(route: Route, linter: Linter) -> list[Problem]:
    product = route.product
    if product is None:
        return []
    wafer = paper_view(linter)
    verdicts = evaluate(product, wafer)
    out = [_located(route, linter, v) for v in verdicts if v.status == "broken"]
    return out + _traceability(route, wafer, {v.element: v for v in verdicts})


def _located(route: Route, linter: Linter, v: Verdict) -> Problem:
    assert route.product is not None
    step = linter.changed.get(v.region) if v.region else None
    rule = {"claim": "product-claim", "structure": "product-structure", "absent": "product-absent"}.get(v.rule, v.rule)
    what = (f"claim {v.element} of product {route.product.label} breaks ({v.predicate}): " if v.rule == "claim"
            else f"product {route.product.label} {v.element}: ")
    makers = [s.id for s in route.spec.steps if v.element in s.creates]
    said = f"; step {', '.join(makers)} says it creates {v.element}" if makers else ""
    if step is not None:
        line, col = route.where(step.index, "id")
        return Problem(route.path, line, col, format_path(("spec", "steps", step.index)), rule,
                       f"{what}{v.detail} — region {v.region} was last changed by step {step.step.id} "
                       f"({step.step.operation}, {step.recipe.ref}){said}")
    line, col = locate(route.doc, ("spec", "product"))
    return Problem(route.path, line, col, "spec.product", rule,
                   f"{what}{v.detail}" + (f" — no step changed region {v.region}" if v.region else "") + said)


def _traceability(route: Route, wafer: Finished, verdicts: dict[str, Verdict]) -> list[Problem]:
    assert route.product is not None
    out = []
    for i, step in enumerate(route.spec.steps):
        for j, element in enumerate(step.creates):
            claim = route.product.claim(element)
            if claim is None or verdicts.get(element) is None or verdicts[element].status == "broken":
                continue
            makers = made_by(claim, wafer)
            if makers and step.id not in makers:
                line, col = route.where(i, "creates", j)
                out.append(Problem(route.path, line, col, format_path(("spec", "steps", i, "creates", j)),
                                   "creates-not-made", f"step {step.id} says it creates {element}, but what the "
                                   f"product's predicates find was made by {', '.join(sorted(makers))}"))
    return out
