"""The route linter: walk a route on paper — the layer stack of every region after every step,
from each kind's nominal model, without the simulator — and check the process rules of
docs/process.md §6 before any wafer moves.

Rules: resist-temperature, polymer-sacrificial-cure, etchant-attacks-exposed, cyanide-with-resist,
plating-needs-seed, faraday-consistency, reflow-count, stencil-area-ratio, three-ball,
release-mismatch, release-short, unknown-region (plus each kind's recipe-level checks).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from drivers.base import NO_PAPER_MODEL
from drivers.effects import Clean, Deposit, Effect, Etch, Heat, Measure, Open
from drivers.materials import POLYMER_DECOMPOSE_C, SOLDERS, conducts
from drivers.oven.spec import FACTS as OVEN
from drivers.registry import DRIVERS
from drivers.wet_bench.chemistry import CHEMISTRY, arrhenius, nominal_rate
from line.recipes.route import ResolvedStep, Route
from line.yamlio import Problem, format_path

MAX_REFLOWS = 3                      # §1.5 / §6.6
COLLATERAL_ERROR, COLLATERAL_WARN = 0.25, 0.05


@dataclass
class PaperLayer:
    material: str
    role: str
    thickness_nm: float
    step: str = "incoming"
    props: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.material} ({self.role}, {self.thickness_nm:g} nm, from {self.step})"


@dataclass
class PaperWafer:
    regions: dict[str, list[PaperLayer]]
    reflows: int = 0

    def layers(self) -> list[tuple[str, PaperLayer]]:
        return [(name, layer) for name, stack in self.regions.items() for layer in stack]


class Linter:
    def __init__(self, route: Route) -> None:
        self.route = route
        self.wafer = PaperWafer({name: [PaperLayer(l.material, l.role, l.thickness_nm) for l in r.layers]
                                 for name, r in route.spec.incoming.items()})
        self.problems: list[Problem] = []
        self.history: list[tuple[str, dict[str, list[str]]]] = []

    # ---- reporting -----------------------------------------------------------------------------
    def report(self, rs: ResolvedStep, rule: str, message: str, sub: tuple = ("recipe",), severity: str = "error") -> None:
        line, col = self.route.where(rs.index, *sub)
        self.problems.append(Problem(self.route.path, line, col, format_path(("spec", "steps", rs.index) + sub), rule,
                                     f"step {rs.step.id} ({rs.step.tool_kind} {rs.recipe.ref}): {message}", severity))

    def run(self) -> list[Problem]:
        for rs in self.route.steps:
            model = DRIVERS[rs.step.tool_kind].paper_model()
            if model is NO_PAPER_MODEL:
                self.report(rs, "no-paper-model", f"the {rs.step.tool_kind} kind has no paper model "
                                                  f"(drivers/{rs.step.tool_kind}/model.py): what this step does to the "
                                                  "wafer is not checked", severity="warning")
            for f in model.checks(rs.parameters):
                self.report(rs, f.rule, f"{format_path(f.path)}: {f.message}")
            for effect in model.effects(rs.parameters):
                self.apply(rs, effect)
            self.history.append((rs.step.id, {n: [l.material for l in s] for n, s in self.wafer.regions.items()}))
        return self.problems

    # ---- effects ---------------------------------------------------------------------------------
    def apply(self, rs: ResolvedStep, e: Effect) -> None:
        if isinstance(e, Deposit):
            self.deposit(rs, e)
        elif isinstance(e, Open):
            self.open(rs, e)
        elif isinstance(e, Clean):
            for stack in self.wafer.regions.values():
                if stack and stack[-1].role == e.role:
                    stack.pop()
        elif isinstance(e, Heat):
            self.heat(rs, e)
        elif isinstance(e, Etch):
            self.etch(rs, e)
        elif isinstance(e, Measure) and e.region not in self.wafer.regions:
            self.report(rs, "unknown-region", f"measures region {e.region!r}; the design has {', '.join(self.wafer.regions)}")

    def _layer(self, rs: ResolvedStep, e: Deposit, thickness: float) -> PaperLayer:
        return PaperLayer(e.material, e.role, thickness, rs.step.id, dict(e.props))

    def deposit(self, rs: ResolvedStep, e: Deposit) -> None:
        regions = self.wafer.regions
        if e.attacks and (hit := [l for _, l in self.wafer.layers() if l.role in e.attacks]):
            self.report(rs, "cyanide-with-resist", f"the {e.props.get('bath', 'bath')} attacks {hit[0]} — use a "
                                                   "cyanide-free (sulfite) gold bath while a resist mold is on the wafer")
        if e.where == "all":
            targets = list(regions)
        elif e.where == "regions":
            targets = [n for n in e.regions if n in regions]
            for n in set(e.regions) - set(regions):
                self.report(rs, "unknown-region", f"prints over region {n!r}; the design has {', '.join(regions)}")
        elif e.where == "holes":
            resist = [l.thickness_nm for _, l in self.wafer.layers() if l.role == "resist"]
            targets = [n for n, s in regions.items() if not any(l.role == "resist" for l in s)] if resist else []
            if not targets:
                self.report(rs, "no-holes", "fill_holes needs a resist mold with open holes; there is none")
            for n in targets:
                regions[n].append(self._layer(rs, e, max(resist)))
            return
        else:  # conductive: plating
            # The contact ring touches the wafer edge: current reaches an opening only through a metal
            # film present in every region (a blanket seed), not through an isolated pad.
            metals = [{l.material for l in s if conducts(l.material)} for s in regions.values()]
            continuous = set.intersection(*metals) if metals else set()
            if e.needs_seed and not continuous:
                self.report(rs, "plating-needs-seed", "no continuous conductive seed across the wafer — the contact "
                                                      "ring cannot reach the openings; sputter a seed first")
            targets = [n for n, s in regions.items() if s and conducts(s[-1].material)]
            if not targets:
                self.report(rs, "plating-needs-seed", "no region has a conductive surface to plate on")
        for n in targets:
            regions[n].append(self._layer(rs, e, e.thickness_nm))

    def open(self, rs: ResolvedStep, e: Open) -> None:
        for n in e.regions:
            if n not in self.wafer.regions:
                self.report(rs, "unknown-region", f"the mask opens region {n!r}; the design has "
                                                  f"{', '.join(self.wafer.regions)}")
                continue
            stack = self.wafer.regions[n]
            if stack and stack[-1].step == rs.step.id:
                stack.pop()

    def heat(self, rs: ResolvedStep, e: Heat) -> None:
        for _, layer in self.wafer.layers():
            limit = layer.props.get("t_limit_c")
            if layer.role == "resist" and limit is not None and e.peak_c > limit and layer.step != rs.step.id:
                self.report(rs, "resist-temperature", f"{e.what} at {e.peak_c:g} °C heats resist {layer} above its "
                                                      f"{limit:g} °C limit — strip it first or stay below")
                break
        if any(l.role == "sacrificial" and l.material in ("polymer", "epoxy") for _, l in self.wafer.layers()) \
                and e.peak_c > POLYMER_DECOMPOSE_C:
            self.report(rs, "polymer-sacrificial-cure", f"{e.what} at {e.peak_c:g} °C over a polymer sacrificial layer "
                                                        f"(decomposes above {POLYMER_DECOMPOSE_C:g} °C) — use the 230 °C PI cure")
        for _, layer in self.wafer.layers():
            if layer.material == "PI" and OVEN.pi_cured_by_hold(e.peak_c, e.hold_s):
                layer.props["cured"] = True
            if layer.material == "Ag-epoxy" and OVEN.paste_cured_by_hold(e.peak_c, e.hold_s):
                layer.props["cured"] = True
        if e.liquidus_c and e.peak_c >= e.liquidus_c and any(l.material in SOLDERS for _, l in self.wafer.layers()):
            self.wafer.reflows += 1
            if self.wafer.reflows > MAX_REFLOWS:
                self.report(rs, "reflow-count", f"reflow pass {self.wafer.reflows}: at most {MAX_REFLOWS} are allowed")

    def etch(self, rs: ResolvedStep, e: Etch) -> None:
        chem = CHEMISTRY[e.chemistry]
        factor = arrhenius(e.temperature_c, chem.t_ref_c)
        t_min = e.time_s / 60 * factor
        for n, stack in self.wafer.regions.items():
            for layer in [l for l in stack if l.role == "resist"]:
                if nominal_rate(e.chemistry, layer.material) * t_min >= layer.thickness_nm and layer in stack:
                    del stack[stack.index(layer):]                     # strip, lifting off what was on it
            left = t_min
            while left > 0 and stack:
                top = stack[-1]
                rate = nominal_rate(e.chemistry, top.material, top.props)
                if rate <= 0:
                    break
                need = top.thickness_nm / rate
                collateral = top.material not in chem.removes and top.role not in ("resist", "native_oxide")
                lost = min(1.0, left / need)
                if collateral and lost > COLLATERAL_WARN:
                    sev = "error" if lost > COLLATERAL_ERROR else "warning"
                    self.report(rs, "etchant-attacks-exposed", f"{e.chemistry} attacks exposed {top} in region {n}: "
                                f"{'all of it' if lost >= 1 else f'{lost:.0%}'} would go", severity=sev)
                if need <= left:
                    left -= need
                    stack.pop()
                else:
                    top.thickness_nm -= rate * left
                    left = 0.0
        if rs.step.operation == "release":
            self.release(rs, e, t_min)

    def release(self, rs: ResolvedStep, e: Etch, t_min: float) -> None:
        sacrificial = [(n, l) for n, l in self.wafer.layers() if l.role == "sacrificial"]
        if not sacrificial:
            self.report(rs, "release-mismatch", "a release step, but no sacrificial layer is on the wafer")
            return
        for _n, layer in sacrificial:
            rate = nominal_rate(e.chemistry, layer.material)
            if rate <= 0:
                self.report(rs, "release-mismatch", f"{e.chemistry} does not etch the {layer.material} sacrificial layer")
                continue
            distance = layer.props.get("release_distance_um", 0.0)
            front = rate * t_min / 1000
            if front < distance:
                self.report(rs, "release-short", f"the release front reaches {front:.1f} µm of the {distance:g} µm to "
                                                 f"free the suspension — etch {distance / front:.2f}× longer")
            else:
                layer.material, layer.role = "void", "gap"
                layer.props["released_by"] = rs.step.id


def lint(route: Route) -> list[Problem]:
    return Linter(route).run()


def final_stacks(route: Route) -> dict[str, list[PaperLayer]]:
    linter = Linter(route)
    linter.run()
    return copy.deepcopy(linter.wafer.regions)
