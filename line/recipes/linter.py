"""The route linter: walk a route on paper — the layer stack of every region after every step,
from each kind's nominal model, without the simulator — and check the process rules of
docs/process.md §6 before any wafer moves; then hold the final paper wafer against the route's
product (product_check.py).

Rules while walking: resist-temperature, polymer-sacrificial-cure, etchant-attacks-exposed,
cyanide-with-resist, plating-needs-seed, plating-without-mold, plating-area, metal-on-uncured,
spec-fails-on-paper (a metrology reading or a number the tool reports itself), faraday-consistency,
deposition-consistency, coat-consistency, opening-not-cleared, print-volume-low,
base-pressure-unreachable, purge-unreachable, reflow-count, stencil-area-ratio, three-ball,
etch-removes-nothing, release-short, unknown-region (plus each kind's recipe-level checks). The
physics is each kind's, shared with its simulator (the wet etch: etching.py; the oven: thermal.py).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

from drivers.base import NO_PAPER_MODEL
from drivers.effects import WAFER_AREA_CM2, Clean, Deposit, Effect, Etch, Heat, Measure, Open, Reading
from drivers.materials import NEEDS_CURE, POLYMER_DECOMPOSE_C, SOLDERS, conducts
from drivers.metrology.readout import reading
from drivers.oven.spec import FACTS as OVEN
from drivers.registry import DRIVERS, SPECS
from drivers.wet_bench import etching
from drivers.wet_bench.chemistry import CHEMISTRY, arrhenius
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
    area_cm2: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    def layers(self) -> list[tuple[str, PaperLayer]]:
        return [(name, layer) for name, stack in self.regions.items() for layer in stack]


class Linter:
    def __init__(self, route: Route) -> None:
        self.route = route
        design = route.design()
        self.wafer = PaperWafer({name: [PaperLayer(l["material"], l["role"], l["thickness_nm"]) for l in r["layers"]]
                                 for name, r in design.items()},
                                area_cm2={name: WAFER_AREA_CM2 * r["area_pct"] / 100 for name, r in design.items()})
        self.problems: list[Problem] = []
        self.history: list[tuple[str, dict[str, list[str]]]] = []
        self.changed: dict[str, ResolvedStep] = {}      # region → the step that last changed its stack
        self.readings: dict[str, dict[str, float]] = {}   # step → what its tool will report, nominally

    # ---- reporting -----------------------------------------------------------------------------
    def report(self, rs: ResolvedStep, rule: str, message: str, sub: tuple = ("recipe",), severity: str = "error") -> None:
        line, col = self.route.where(rs.index, *sub)
        self.problems.append(Problem(self.route.path, line, col, format_path(("spec", "steps", rs.index) + sub), rule,
                                     f"step {rs.step.id} ({rs.step.tool_kind} {rs.recipe.ref}): {message}", severity))

    def run(self) -> list[Problem]:
        self.queue_limits()
        for rs in self.route.steps:
            model = DRIVERS[rs.step.tool_kind].paper_model()
            if model is NO_PAPER_MODEL:
                self.report(rs, "no-paper-model", f"the {rs.step.tool_kind} kind has no paper model "
                                                  f"(drivers/{rs.step.tool_kind}/model.py): what this step does to the "
                                                  "wafer is not checked", severity="warning")
            for f in model.checks(rs.parameters):
                self.report(rs, f.rule, f"{format_path(f.path)}: {f.message}")
            before = self.signature()
            for effect in model.effects(rs.parameters):
                self.apply(rs, effect)
            after = self.signature()
            self.changed.update({n: rs for n in after if after[n] != before.get(n)})
            self.history.append((rs.step.id, {n: [l.material for l in s] for n, s in self.wafer.regions.items()}))
        return self.problems

    def queue_limits(self) -> None:
        """A queue-time limit starts at an earlier step's end: one naming no earlier step never runs."""
        ids = [rs.step.id for rs in self.route.steps]
        for i, rs in enumerate(self.route.steps):
            for k, limit in enumerate(rs.step.queue_limits):
                if limit.since not in ids[:i]:
                    self.report(rs, "queue-limit-since", f"queue limit since {limit.since!r} names no earlier step "
                                                         f"(earlier: {', '.join(ids[:i]) or 'none'})",
                                sub=("queue_limits", k, "since"))

    def signature(self) -> dict[str, list[tuple]]:
        return {n: [(l.material, l.role, round(l.thickness_nm, 3), bool(l.props.get("cured")), bool(l.props.get("stiction")))
                    for l in s] for n, s in self.wafer.regions.items()}

    # ---- effects ---------------------------------------------------------------------------------
    def apply(self, rs: ResolvedStep, e: Effect) -> None:
        if isinstance(e, Deposit):
            self.deposit(rs, e)
            if e.reported_as:       # the tool reports the film it laid down: as thick as it came out here
                laid = [st[-1].thickness_nm for st in self.wafer.regions.values()
                        if st and st[-1].step == rs.step.id and st[-1].material == e.material]
                self.told(rs, e.reported_as, laid[0] if laid else 0.0, in_nm=True)
        elif isinstance(e, Reading):
            self.told(rs, e.measurement, e.value)
        elif isinstance(e, Open):
            self.open(rs, e)
        elif isinstance(e, Clean):
            for stack in self.wafer.regions.values():
                if stack and stack[-1].role == e.role:
                    if e.depth_nm is not None:
                        stack[-1].thickness_nm -= min(stack[-1].thickness_nm, e.depth_nm)
                    if e.depth_nm is None or stack[-1].thickness_nm <= e.gone_below_nm:
                        stack.pop()
        elif isinstance(e, Heat):
            self.heat(rs, e)
        elif isinstance(e, Etch):
            self.etch(rs, e)
        elif isinstance(e, Measure):
            self.measure(rs, e)

    def measure(self, rs: ResolvedStep, e: Measure) -> None:
        """Predict the nominal reading here and hold it against the step's spec: a spec the wafer cannot
        meet at this point of the route (a step moved before or after it) fails on paper, not on the line."""
        if e.region not in self.wafer.regions:
            self.report(rs, "unknown-region", f"measures region {e.region!r}; the design has {', '.join(self.wafer.regions)}")
            return
        name, unit, value, _ = reading(self.wafer.regions[e.region], e.measurement, e.material)
        self.readings.setdefault(rs.step.id, {})[f"{name}.mean"] = value      # at no noise every site reads it
        self.hold_to_specs(rs, (name, f"{name}.mean"), value, unit, f" on {e.region}")

    def told(self, rs: ResolvedStep, name: str, value: float, in_nm: bool = False) -> None:
        """A number the tool itself will report for this step, nominally (in the kind's declared unit;
        a film thickness given in nm is converted), kept for comparison and held against the step's specs."""
        declared = SPECS[rs.step.tool_kind].measurement(name)
        unit = declared.unit if declared is not None else ""
        if in_nm and unit == "µm":
            value /= 1000.0
        self.readings.setdefault(rs.step.id, {})[name] = value
        self.hold_to_specs(rs, (name,), value, unit, "")

    def hold_to_specs(self, rs: ResolvedStep, names: tuple[str, ...], value: float, unit: str, where: str) -> None:
        for j, spec in enumerate(rs.step.specs):
            if spec.measurement not in names:
                continue
            lo = spec.lsl if spec.lsl is not None else -math.inf
            hi = spec.usl if spec.usl is not None else math.inf
            if not lo <= value <= hi:
                self.report(rs, "spec-fails-on-paper", f"{spec.measurement} would read {value:.3g} {unit}{where} "
                                                       f"here — outside the spec [{'' if spec.lsl is None else f'{spec.lsl:g}'}, "
                                                       f"{'' if spec.usl is None else f'{spec.usl:g}'}]: the lot would hold",
                            sub=("specs", j))

    def _layer(self, rs: ResolvedStep, e: Deposit, thickness: float) -> PaperLayer:
        return PaperLayer(e.material, e.role, thickness, rs.step.id, dict(e.props))

    def deposit(self, rs: ResolvedStep, e: Deposit) -> None:
        regions = self.wafer.regions
        if e.attacks and (hit := [l for _, l in self.wafer.layers() if l.role in e.attacks]):
            self.report(rs, "cyanide-with-resist", f"the {e.props.get('bath', 'bath')} attacks {hit[0]} — use a "
                                                   "cyanide-free (sulfite) gold bath while a resist mold is on the wafer")
        if conducts(e.material) and e.where == "all" and (wet := self.uncured_tops()):
            self.report(rs, "metal-on-uncured", f"{e.material} over uncured {wet[0][1]} in {wet[0][0]}: the film seals "
                                                "the solvent in, and a later cure blisters it — cure first")
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
            for n in targets:        # filled as deep as the mold, times the share the print transfers
                regions[n].append(self._layer(rs, e, max(resist) * e.props.get("volume_pct", 100.0) / 100))
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
                return
            self.plate(rs, e, targets)
            return
        for n in targets:
            regions[n].append(self._layer(rs, e, e.thickness_nm))

    def uncured_tops(self) -> list[tuple[str, PaperLayer]]:
        return [(n, s[-1]) for n, s in self.wafer.regions.items()
                if s and s[-1].material in NEEDS_CURE and not s[-1].props.get("cured")]

    def plate(self, rs: ResolvedStep, e: Deposit, targets: list[str]) -> None:
        """Metal grows wherever the top conducts; the current is set for `open_area_cm2`, so the
        thickness scales with set area / plated area, as in the cell (docs/process.md §1.4)."""
        regions = self.wafer.regions
        if not any(l.role == "resist" for _, l in self.wafer.layers()):
            self.report(rs, "plating-without-mold", f"no resist mold on the wafer: {e.material} plates blanket over "
                                                    f"{', '.join(targets)} — pattern a mold first")
        area = sum(self.wafer.area_cm2.get(n, 0.0) for n in targets)
        set_for = float(e.props.get("open_area_cm2", area) or area)
        if area and abs(set_for / area - 1) > 0.10:
            self.report(rs, "plating-area", f"the current is set for {set_for:g} cm² but {area:.1f} cm² is open "
                                            f"({', '.join(targets)}): the deposit would be {set_for / area:.0%} of its "
                                            f"target — set open_area_cm2 to the mold's open area",
                        sub=("overrides",) if rs.step.overrides else ("recipe",))
        thickness = e.thickness_nm * (set_for / area if area else 1.0)
        for n in targets:
            regions[n].append(self._layer(rs, e, thickness))

    def open(self, rs: ResolvedStep, e: Open) -> None:
        for n in e.regions:
            if n not in self.wafer.regions:
                self.report(rs, "unknown-region", f"the mask opens region {n!r}; the design has "
                                                  f"{', '.join(self.wafer.regions)}")
                continue
            stack = self.wafer.regions[n]
            if stack and stack[-1].step == rs.step.id:
                if e.residue > 0:          # under-exposed or under-developed: the opening keeps a film
                    stack[-1].thickness_nm *= e.residue
                    stack[-1].props["residue"] = True
                else:
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
            pi_cured = OVEN.pi_cure(e.above) if e.above else OVEN.pi_cured_by_hold(e.peak_c, e.hold_s)
            if layer.material in ("PI", "PBO") and not layer.props.get("cured") and pi_cured:
                layer.props["cured"] = True
                layer.thickness_nm *= OVEN.pi_cure_shrink
            paste_cured = OVEN.paste_cured(e.above) if e.above else OVEN.paste_cured_by_hold(e.peak_c, e.hold_s)
            if layer.material == "Ag-epoxy" and paste_cured:
                layer.props["cured"] = True
        if e.liquidus_c and e.peak_c >= e.liquidus_c and any(l.material in SOLDERS for _, l in self.wafer.layers()):
            for _, layer in self.wafer.layers():
                if layer.material in SOLDERS:
                    layer.props["reflows"] = layer.props.get("reflows", 0) + 1
            self.wafer.reflows += 1
            if self.wafer.reflows > MAX_REFLOWS:
                self.report(rs, "reflow-count", f"reflow pass {self.wafer.reflows}: at most {MAX_REFLOWS} are allowed")

    def etch(self, rs: ResolvedStep, e: Etch) -> None:
        """The simulator's etch model on the paper stack; the linter judges what it did."""
        chem = CHEMISTRY[e.chemistry]
        t_eff = e.time_s * arrhenius(e.temperature_c, chem.t_ref_c)
        rep = etching.etch_regions(self.wafer.regions, self.wafer.area_cm2, e.chemistry, t_eff)
        for region, layer, before, lost in rep.attacked:
            collateral = layer.material not in chem.removes and layer.role not in ("resist", "native_oxide")
            if collateral and lost > COLLATERAL_WARN:
                shown = PaperLayer(layer.material, layer.role, before, layer.step)
                self.report(rs, "etchant-attacks-exposed", f"{e.chemistry} attacks exposed {shown} in region {region}: "
                            f"{'all of it' if lost >= 1 else f'{lost:.0%}'} would go",
                            severity="error" if lost > COLLATERAL_ERROR else "warning")
        if not rep.touched:
            tops = ", ".join(f"{n}: {s[-1].material} ({s[-1].role})" for n, s in self.wafer.regions.items() if s)
            self.report(rs, "etch-removes-nothing", f"{e.chemistry} for {e.time_s:g} s removes nothing — every region's "
                                                    f"top resists it ({tops})")
        for n, layer in self.wafer.layers() if rep.reached() else []:
            if layer.role == "sacrificial" and layer.props.get("release_um"):
                need = layer.props.get("release_distance_um", 0.0)
                done = layer.props["release_um"]
                self.report(rs, "release-short", f"{e.chemistry} reaches the {layer.material} sacrificial layer and "
                                                 f"etches {done:.1f} µm of the {need:g} µm under the suspension in {n} — "
                                                 f"a half-freed part; etch {need / done:.2f}× longer (or seal the layer)")
        for _, layer in self.wafer.layers():
            if layer.role == "gap" and "released_by" not in layer.props:
                layer.props["released_by"] = rs.step.id
        stuck = etching.dry(self.wafer.regions, e.dry, rep.released)
        if stuck:
            self.wafer.flags.append(f"stiction after {e.dry} ({rs.step.id})")
            self.report(rs, "stiction", f"the release frees the suspension, then {e.dry} pulls it down onto the "
                                        f"substrate — dry supercritically (supercritical_co2)")
        for name, value in (("etch.removed", rep.removed_nm), ("etch.undercut", rep.undercut_um),
                            ("release.front", rep.release_um), ("release.stiction", 1.0 if stuck else 0.0)):
            self.told(rs, name, value)       # what the bench reports, from the same etch model


def lint(route: Route) -> list[Problem]:
    """The process rules along the route, then its final paper wafer against its product."""
    from line.recipes.product_check import product_problems

    linter = Linter(route)
    return linter.run() + product_problems(route, linter)


def final_stacks(route: Route) -> dict[str, list[PaperLayer]]:
    linter = Linter(route)
    linter.run()
    return copy.deepcopy(linter.wafer.regions)

