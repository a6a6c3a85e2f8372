"""Check finished wafers in the simulator's world against their route: the stack the route builds on
paper, region by region, and every claim element's step. Only the composition root reads the world."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from line.ledger import Ledger
from line.recipes.linter import final_stacks
from line.recipes.route import Route


@dataclass
class ProductCheck:
    lot_id: str
    product: str
    wafers: int
    problems: list[str] = field(default_factory=list)
    claims: dict[str, str] = field(default_factory=dict)   # element → how it was found

    @property
    def ok(self) -> bool:
        return not self.problems


def signature(stack: list[Any]) -> list[tuple[str, str]]:
    return [(l["material"] if isinstance(l, dict) else l.material, l["role"] if isinstance(l, dict) else l.role)
            for l in stack if (l["role"] if isinstance(l, dict) else l.role) != "substrate"]


def check_product(world: dict[str, Any], route: Route, ledger: Ledger, lot_id: str) -> ProductCheck:
    paper = {region: signature(stack) for region, stack in final_stacks(route).items()}
    wafers = [w.id for w in ledger.wafers(lot_id) if w.state == "PROCESSED"]
    check = ProductCheck(lot_id, route.spec.product + (f" ({route.spec.variant})" if route.spec.variant else ""),
                         len(wafers))
    runs = {r.step_id: r for r in ledger.step_runs(lot_id)}
    for wafer_id in wafers:
        regions = world.get(wafer_id, {}).get("regions", {})
        for region, expected in paper.items():
            got = signature(regions.get(region, []))
            if got != expected:
                check.problems.append(f"{wafer_id} {region}: {' / '.join(m for m, _ in got)} ≠ designed "
                                      f"{' / '.join(m for m, _ in expected)}")
    for element in route.spec.claims:
        step = next(s for s in route.spec.steps if element in s.creates)
        run = runs.get(step.id)
        if run is None or run.status != "COMPLETE":
            check.problems.append(f"claim {element}: step {step.id} did not complete")
            continue
        layers = [(wid, region, l) for wid in wafers for region, stack in world.get(wid, {}).get("regions", {}).items()
                  for l in stack if l.get("job") == run.job_id]
        gaps = [1 for wid in wafers for stack in world.get(wid, {}).get("regions", {}).values()
                for l in stack if l.get("role") == "gap"]
        if layers:
            regions = sorted({r for _, r, _ in layers})
            mats = sorted({l["material"] for _, _, l in layers})
            check.claims[element] = f"{step.id}: {'/'.join(mats)} on {', '.join(regions)} of {len({w for w, _, _ in layers})} wafers"
        elif step.operation == "release" and gaps:
            check.claims[element] = f"{step.id}: released gap under the suspension on {len(gaps)} wafers"
        else:
            check.claims[element] = f"{step.id}: {step.operation} complete"
    return check
