"""Run a route's steps through the in-process simulators (the simulator's physics, no socket, no
Prefect, no ledger) at zero noise, one wafer, and compare the finished wafer with the linter's paper
wafer — the paper-vs-simulator property of issue #13."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.limits import check_limits
from drivers.registry import driver_class
from drivers.vocabulary import JobState
from line.cli.sim import sim_line
from line.config import load_line
from line.recipes.linter import Linter, PaperLayer
from line.recipes.route import Route
from sim_hw.inprocess import in_process_backend
from tests.support import ROOT

SPEED = 500_000.0
WAFER = "W1"


def simulate(route: Route) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """The finished wafer (world-model snapshot) after every step of the route ran on a simulator,
    and what each step's tool reported for the wafer (step → measurement → value)."""
    cfg = load_line(ROOT / "deploy/lines/sim.yaml")
    line = sim_line(cfg, any_port=True, speed=SPEED, control_port=None, serve=False, noise=0.0).start_in_thread()
    reported: dict[str, dict[str, float]] = {}
    try:
        line.world.start_wafer(WAFER, route.design())
        for rs in route.steps:
            tool = line_tool(cfg, rs.step.tool_kind, rs.body)
            with driver_class(rs.step.tool_kind)(tool, backend=in_process_backend(line, tool)) as driver:
                driver.setup(f"J{rs.index:02d}-{rs.step.id}", [WAFER], rs.parameters)
                driver.start()
                status = driver.wait(poll_s=0.005, timeout_s=60)
                assert status.job_state == JobState.PROCESS_COMPLETE, f"{rs.step.id}: {status}"
                (result,) = driver.results()
                reported[rs.step.id] = {m.name: float(m.value) for m in result.measurements
                                        if isinstance(m.value, int | float) and not isinstance(m.value, bool)}
        return line.world.snapshot(WAFER)[WAFER], reported
    finally:
        line.stop_thread()


def line_tool(cfg: Any, kind: str, body: dict[str, Any]) -> str:
    """The first tool of the kind whose capabilities and own limits take the recipe — as dispatch
    would choose; a route no tool on the line can run is the test's mistake, said so."""
    for t in cfg.tools:
        if t.kind == kind and t.accepts(body) and not check_limits(body, t.effective_limits()):
            return t.id
    raise AssertionError(f"no {kind} tool on deploy/lines/sim.yaml takes {body}")


@dataclass(frozen=True)
class Row:
    material: str
    role: str
    state: str          # cured / uncured / reflowed / released / stuck / ""
    thickness_nm: float


def _state(material: str, role: str, props: dict[str, Any]) -> str:
    if role == "gap":
        return "stuck" if props.get("stiction") else "free"
    if "cured" in props:
        return "cured" if props["cured"] else "uncured"
    if props.get("reflows"):
        return f"reflowed×{props['reflows']}"
    return ""


def paper_rows(stack: list[PaperLayer]) -> list[Row]:
    return [Row(l.material, l.role, _state(l.material, l.role, l.props), l.thickness_nm) for l in stack]


def world_rows(stack: list[dict[str, Any]]) -> list[Row]:
    return [Row(l["material"], l["role"], _state(l["material"], l["role"], l.get("props", {})), l["thickness_nm"])
            for l in stack]


def differences(route: Route, tolerance: float = 0.05) -> list[str]:
    """Per region: the same ordered (material, role, state) layers, thicknesses within `tolerance`;
    per step, every number the paper says the tool will report (held against the step's specs on
    paper) reported by the simulated tool, within `tolerance`."""
    linter = Linter(route)
    linter.run()
    world, reported = simulate(route)
    out = []
    for step, readings in linter.readings.items():
        for name, value in readings.items():
            sim = reported.get(step, {}).get(name)
            if sim is None:
                out.append(f"{step}: paper says the tool reports {name} = {value:.4g}; the simulated tool did not "
                           f"(it reported {sorted(reported.get(step, {}))})")
            elif abs(sim - value) > tolerance * max(abs(value), abs(sim)) + 1e-3:   # + the tools' rounding
                out.append(f"{step}: {name} paper {value:.4g}, sim {sim:.4g}")
    for region, stack in linter.wafer.regions.items():
        paper, sim = paper_rows(stack), world_rows(world["regions"][region])
        if [(r.material, r.role, r.state) for r in paper] != [(r.material, r.role, r.state) for r in sim]:
            out.append(f"{region}: paper {[(r.material, r.role, r.state) for r in paper]}\n"
                       f"        sim   {[(r.material, r.role, r.state) for r in sim]}")
            continue
        for p, s in zip(paper, sim, strict=True):
            if abs(p.thickness_nm - s.thickness_nm) > tolerance * max(p.thickness_nm, s.thickness_nm, 1e-9):
                out.append(f"{region}: {p.material} ({p.role}) paper {p.thickness_nm:.1f} nm, sim {s.thickness_nm:.1f} nm")
    if linter.wafer.reflows != world.get("reflow_count", 0):
        out.append(f"reflows: paper {linter.wafer.reflows}, sim {world.get('reflow_count')}")
    return out
