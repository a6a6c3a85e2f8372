"""Check finished lots on the simulated line against their *product* — not their route: every claim
predicate, every region's structure, every absence, on every processed wafer in the world model.
Only the composition root (CLI) reads the world; flows never do."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from line.ledger import Ledger
from line.recipes.predicates import Verdict, evaluate, from_world
from line.recipes.product import Product


@dataclass
class Row:
    """One element (claim, structure region or absence) over all of a lot's wafers."""
    element: str
    status: str                      # held | broken | not-modelled
    rule: str
    evidence: str
    wafers_broken: list[str] = field(default_factory=list)


@dataclass
class LotVerification:
    lot_id: str
    product: str
    lot_status: str
    wafers: list[str]                # processed wafers, each checked
    not_processed: list[str]         # wafers the lot did not finish (not checked, and not counted good)
    rows: list[Row] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.wafers) and all(r.status != "broken" for r in self.rows)

    @property
    def problems(self) -> list[str]:
        out = [f"{r.element}: {r.evidence} (wafers {', '.join(r.wafers_broken)})" for r in self.rows if r.status == "broken"]
        return out + ([] if self.wafers else [f"no processed wafer to verify (lot {self.lot_status})"])

    def as_json(self) -> dict[str, Any]:
        return {"lot": self.lot_id, "product": self.product, "lot_status": self.lot_status, "ok": self.ok,
                "wafers": self.wafers, "not_processed": self.not_processed,
                "elements": [vars(r) for r in self.rows]}


def verify_lot(world: dict[str, Any], product: Product, ledger: Ledger, lot_id: str) -> LotVerification:
    lot = ledger.lot(lot_id)
    wafers = ledger.wafers(lot_id)
    done = [w.id for w in wafers if w.state == "PROCESSED"]
    check = LotVerification(lot_id, product.label, lot.status if lot else "UNKNOWN", done, [w.id for w in wafers if w.state != "PROCESSED"])
    per_wafer: dict[str, list[Verdict]] = {}
    for wafer_id in done:
        if wafer_id not in world:
            per_wafer[wafer_id] = [Verdict("world", "broken", "world", f"the simulated line has no wafer {wafer_id}")]
            continue
        per_wafer[wafer_id] = evaluate(product, from_world(world[wafer_id]))
    order: list[str] = []
    by_element: dict[str, list[tuple[str, Verdict]]] = {}
    for wafer_id, verdicts in per_wafer.items():
        for v in verdicts:
            if v.element not in by_element:
                order.append(v.element)
            by_element.setdefault(v.element, []).append((wafer_id, v))
    for element in order:
        seen = by_element[element]
        broken = [(w, v) for w, v in seen if v.status == "broken"]
        first = broken[0][1] if broken else seen[0][1]
        check.rows.append(Row(element, first.status, first.rule, first.detail, [w for w, _ in broken]))
    return check
