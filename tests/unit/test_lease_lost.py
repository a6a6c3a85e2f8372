"""A lot whose lease was lost (this orchestrator stalled past the TTL and another took the lot over)
stops before its next step — the two never both run one (issue #14)."""
from __future__ import annotations

from pathlib import Path

import pytest

from line import lot_flow
from line.ledger import Ledger
from line.plan import load_plan
from line.steps import StepOutcome
from tests.support import ROOT

C = str(ROOT / "recipes/routes/product-c-paste-core-bump.yaml")


def test_a_lot_that_lost_its_lease_stops_before_its_next_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    plan = load_plan(C, str(ROOT / "deploy/lines/sim.yaml"), str(ROOT / "recipes"))
    ledger.ensure_lot("LL1", 1, product=plan.product, route=plan.ref)
    assert ledger.acquire_lease("lot:LL1", "orch-A", 30)
    ran: list[str] = []

    def run_step(step, rework, live):
        ran.append(step.id)
        ledger.break_lease("lot:LL1", "orch-A", "lapsed while orch-A stalled")      # another orchestrator takes over
        assert ledger.acquire_lease("lot:LL1", "orch-B", 30)
        return StepOutcome("LL1", step.id, 0, "T", f"LL1.{step.id}.r0", "r@v1", "h", "COMPLETE")

    out = lot_flow._run_plan(ledger, plan, "LL1", 0, run_step, holder="orch-A")
    assert ran == [plan.steps[0].id]
    assert out["status"] == "LEASE_LOST" and "held by orch-B" in out["reason"] and f"before step {plan.steps[1].id}" in out["reason"]
    ledger.dispose()
