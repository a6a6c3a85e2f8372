"""Check finished wafers in the simulator's world model against what the step should have built.
Only the composition root (CLI) reads the world model; flows never do."""
from __future__ import annotations

from typing import Any


def check_stacks(world: dict[str, Any], wafer_ids: list[str], layers: list[dict[str, Any]],
                 tolerance: float = 0.10) -> list[str]:
    """Each wafer's pad region must end with the recipe's layers, in order, directly on the Al pad
    (native oxide removed), each within `tolerance` of its target."""
    problems = []
    want = [l["material"] for l in layers]
    for wid in wafer_ids:
        stack = world.get(wid, {}).get("regions", {}).get("pad", [])
        top = stack[-len(want):] if len(stack) >= len(want) else []
        if [l["material"] for l in top] != want:
            problems.append(f"{wid}: pad stack {[l['material'] for l in stack]} does not end with {want}")
            continue
        below = stack[-len(want) - 1]
        if below["role"] != "pad":
            problems.append(f"{wid}: {below['material']} ({below['role']}) between the Al pad and {want[0]}")
        for got, spec in zip(top, layers, strict=False):
            if abs(got["thickness_nm"] - spec["thickness_nm"]) > tolerance * spec["thickness_nm"]:
                problems.append(f"{wid}: {got['material']} {got['thickness_nm']:.1f} nm vs {spec['thickness_nm']} nm")
    return problems
