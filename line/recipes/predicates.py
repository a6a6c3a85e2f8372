"""Evaluate a `Product` against a finished wafer — the route linter's paper wafer or a simulated
wafer from the world model — and say, per claim element, structure region and shared rule, whether
it held, broke (with the evidence) or cannot be shown (`not-modelled`).

Both wafers are read into one view (`Finished`), so paper and simulator are judged by the same code.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from drivers.materials import NEEDS_CURE, conducts
from line.recipes.product import (
    AbsentPredicate,
    Claim,
    ConnectedPredicate,
    GapPredicate,
    LayerPredicate,
    Match,
    Predicate,
    Product,
    ReflowsPredicate,
)

DAMAGE = ("damaged", "dewetted", "residue")       # layer props the physics sets when a layer is spoiled
Status = Literal["held", "broken", "not-modelled"]


@dataclass
class View:
    material: str
    role: str
    thickness_nm: float
    origin: str                    # the step (paper) or tool job (simulator) that made it
    props: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        um = self.thickness_nm / 1000
        return f"{self.material} ({self.role}, {um:.3g} µm, from {self.origin or 'incoming'})"


@dataclass
class Finished:
    regions: dict[str, list[View]]
    reflows: int = 0
    flags: list[str] = field(default_factory=list)

    def stack(self, region: str) -> list[View]:
        """Above the substrate, bottom up."""
        return [l for l in self.regions.get(region, []) if l.role != "substrate"]


def from_paper(regions: dict[str, list[Any]], reflows: int, flags: Iterable[str] = ()) -> Finished:
    return Finished({n: [View(l.material, l.role, l.thickness_nm, "" if l.step == "incoming" else l.step, dict(l.props))
                         for l in s]
                     for n, s in regions.items()}, reflows, list(flags))


def from_world(wafer: dict[str, Any]) -> Finished:
    """One wafer of `WorldModel.snapshot()` (plain dicts, as the control port returns it)."""
    return Finished({n: [View(l["material"], l["role"], float(l["thickness_nm"]),
                              f"{l.get('tool', '')} {l.get('job', '')}".strip(), dict(l.get("props", {}))) for l in s]
                     for n, s in wafer.get("regions", {}).items()},
                    int(wafer.get("reflow_count", 0)), list(wafer.get("flags", [])))


@dataclass(frozen=True)
class Verdict:
    element: str                   # a claim id, "structure.<region>", or a shared rule's name
    status: Status
    rule: str                      # claim | structure | absent | a shared end-of-route rule
    detail: str                    # the evidence (held), what is wrong (broken) or why not (not-modelled)
    region: str = ""
    predicate: str = ""


def evaluate(product: Product, wafer: Finished) -> list[Verdict]:
    """Every claim element, every region's structure, every absence: the full table."""
    return claims(product, wafer) + structure(product, wafer) + absences(product, wafer)


# ---- claims ----------------------------------------------------------------------------------------
def claims(product: Product, wafer: Finished) -> list[Verdict]:
    out = []
    for claim in product.spec.claims:
        held: list[str] = []
        broken: Verdict | None = None
        for p in claim.holds:
            ok, detail = holds(p, wafer, product)
            if not ok:
                broken = Verdict(claim.id, "broken", "claim", detail, next(iter(p.regions()), ""), str(p))
                break
            held.append(detail)
        if broken:
            out.append(broken)
        elif claim.not_modelled:
            out.append(Verdict(claim.id, "not-modelled", "claim", claim.not_modelled
                               + (f" (what is modelled holds: {'; '.join(held)})" if held else "")))
        else:
            out.append(Verdict(claim.id, "held", "claim", "; ".join(held)))
    return out


def holds(p: Predicate, wafer: Finished, product: Product) -> tuple[bool, str]:
    """(held?, evidence or what is wrong)."""
    b = p.body
    if isinstance(b, LayerPredicate):
        return _layer(b, wafer)
    if isinstance(b, AbsentPredicate):
        found = _find(wafer, b, [b.region] if b.region else list(wafer.regions))
        return (not found, f"{b}" if not found else f"{found[0][1]} in {found[0][0]}")
    if isinstance(b, GapPredicate):
        return _gap(b, wafer)
    if isinstance(b, ConnectedPredicate):
        return _connected(b, wafer, product)
    if isinstance(b, ReflowsPredicate):
        ok = b.at_least <= wafer.reflows <= b.at_most
        return ok, f"{wafer.reflows} reflow pass(es)" + ("" if ok else f", not {b.at_least}–{b.at_most}")
    raise TypeError(f"unknown predicate {p!r}")       # the model admits no other word


def _find(wafer: Finished, m: Match, regions: Iterable[str]) -> list[tuple[str, View]]:
    return [(r, l) for r in regions for l in wafer.stack(r) if m.matches(l.material, l.role)]


def _layer(b: LayerPredicate, wafer: Finished) -> tuple[bool, str]:
    stack = wafer.stack(b.region)
    candidates = [(i, l) for i, l in enumerate(stack) if b.matches(l.material, l.role)]
    if not candidates:
        shown = " / ".join(f"{l.material} ({l.role})" for l in stack) or "nothing"
        return False, f"no {Match.__str__(b)} in {b.region}; it holds {shown}"
    why = ""
    for i, l in candidates:
        below = stack[i - 1] if i > 0 else None
        if b.on and not (below and b.on.matches(below.material, below.role)):
            why = f"{l} sits on {below or 'the substrate'}, not on {b.on}"
            continue
        if b.above and not any(b.above.matches(x.material, x.role) for x in stack[:i]):
            why = f"{l} is not above any {b.above}"
            continue
        if b.thickness_um and not b.thickness_um[0] <= l.thickness_nm / 1000 <= b.thickness_um[1]:
            why = f"{l} is outside {b.thickness_um[0]:g}–{b.thickness_um[1]:g} µm"
            continue
        return True, f"{l} in {b.region}"
    return False, why


def _gap(b: GapPredicate, wafer: Finished) -> tuple[bool, str]:
    stack = wafer.stack(b.region)
    for i, l in enumerate(stack):
        if l.role != "gap":
            continue
        over = stack[i + 1] if i + 1 < len(stack) else None
        if over is None or not b.under.matches(over.material, over.role):
            return False, f"the gap in {b.region} has {over or 'nothing'} above it, not {b.under}"
        if l.props.get("stiction"):
            return False, f"the gap in {b.region} collapsed: the suspension is stuck to the substrate (stiction)"
        return True, f"free gap of {l.thickness_nm / 1000:.3g} µm in {b.region} under {over}"
    sac = [l for l in stack if l.role == "sacrificial"]
    return False, (f"no gap in {b.region}: the sacrificial {sac[0]} is still there" if sac
                   else f"no gap in {b.region}")


def _connected(b: ConnectedPredicate, wafer: Finished, product: Product) -> tuple[bool, str]:
    def carries(region: str) -> bool:
        return any(b.through.matches(l.material, l.role) and conducts(l.material) for l in wafer.stack(region))

    if not carries(b.from_region):
        return False, f"no conducting {b.through} in {b.from_region}"
    seen, queue = {b.from_region: [b.from_region]}, deque([b.from_region])
    while queue:
        here = queue.popleft()
        if here == b.to_region:
            return True, f"{b.through} runs {' → '.join(seen[here])}"
        for n in sorted(product.spec.neighbours(here)):
            if n not in seen and carries(n):
                seen[n] = seen[here] + [n]
                queue.append(n)
    return False, f"{b.through} reaches {', '.join(seen)} but not {b.to_region}"


# ---- structure -------------------------------------------------------------------------------------
def structure(product: Product, wafer: Finished) -> list[Verdict]:
    out = []
    for region, want in product.spec.structure.items():
        got = wafer.stack(region)
        name = f"structure.{region}"
        shown = " / ".join(f"{l.material} ({l.role})" for l in got) or "nothing"
        wanted = " / ".join(str(w) for w in want)
        problem = ""
        for i, w in enumerate(want):
            if i >= len(got):
                problem = f"layer {i + 1} should be {w}; the stack ends before it"
                break
            l = got[i]
            if not w.matches(l.material, l.role):
                problem = f"layer {i + 1} is {l}; the product has {w} there"
                break
            if w.thickness_um and not w.thickness_um[0] <= l.thickness_nm / 1000 <= w.thickness_um[1]:
                problem = f"layer {i + 1} {l} is outside {w.thickness_um[0]:g}–{w.thickness_um[1]:g} µm"
                break
        if not problem and len(got) > len(want):
            problem = f"{got[len(want)]} is left on top, above the product's stack"
        out.append(Verdict(name, "broken" if problem else "held", "structure",
                           f"{problem} (finished: {shown}; product: {wanted})" if problem else shown, region))
    return out


# ---- absences: the product's own and the rules every product shares --------------------------------
def absences(product: Product, wafer: Finished) -> list[Verdict]:
    out = [Verdict(f"absent.{i + 1}", "broken" if found else "held", "absent",
                   f"{found[0][1]} in {found[0][0]}" if found else str(a), found[0][0] if found else a.region or "",
                   str(a))
           for i, a in enumerate(product.spec.absent)
           for found in [_find(wafer, a, [a.region] if a.region else list(wafer.regions))]]
    for rule, finds in shared_rules(product, wafer).items():
        out.append(Verdict(rule, "broken" if finds else "held", rule, "; ".join(d for _, d in finds) or "none",
                           finds[0][0] if finds else ""))
    return out


def shared_rules(product: Product, wafer: Finished) -> dict[str, list[tuple[str, str]]]:
    """End-of-route rules every product shares: rule → [(region, what)]."""
    layers = [(r, l) for r in wafer.regions for l in wafer.stack(r)]
    metals = [{l.material for l in wafer.stack(r) if conducts(l.material) and l.origin} for r in wafer.regions]
    continuous = sorted(set.intersection(*metals)) if len(metals) > 1 else []
    return {
        "no-resist-left": [(r, f"{l} in {r}") for r, l in layers if l.role == "resist"],
        "cured": [(r, f"{l} in {r} is not cured") for r, l in layers
                  if l.material in NEEDS_CURE and not l.props.get("cured")],
        "no-conductor-in-isolation": [(r, f"{l} in {r} (pads short through it)") for r, l in layers
                                      if r in product.spec.isolation and conducts(l.material)],
        "no-conductor-continuous": [(next(iter(wafer.regions)), f"{m} covers every region: every pad is shorted")
                                    for m in continuous],
        "no-damage": [(r, f"{l} in {r}: {k} {l.props[k]}") for r, l in layers for k in DAMAGE if l.props.get(k)]
                     + [("", f) for f in wafer.flags if "stiction" not in f],
        "no-stiction": [(r, f"the gap under the suspension in {r} is stuck") for r, l in layers
                        if l.role == "gap" and l.props.get("stiction")],
        "sacrificial-intact": [(r, f"{l} in {r} was part-etched from its edge ({l.props['release_um']:g} µm)")
                               for r, l in layers if l.role == "sacrificial" and l.props.get("release_um")],
    }


def made_by(claim: Claim, wafer: Finished) -> set[str]:
    """The steps (or jobs) that made the layers a claim's predicates find — for traceability."""
    out: set[str] = set()
    for p in claim.holds:
        b = p.body
        if isinstance(b, LayerPredicate):
            out |= {l.origin for l in wafer.stack(b.region) if b.matches(l.material, l.role) and l.origin}
        elif isinstance(b, GapPredicate):
            out |= {l.props.get("released_by", l.origin) for l in wafer.stack(b.region) if l.role == "gap"}
        elif isinstance(b, ConnectedPredicate):
            out |= {l.origin for r in wafer.regions for l in wafer.stack(r) if b.through.matches(l.material, l.role)}
    return out - {""}
