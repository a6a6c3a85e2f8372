"""Wet etch of a layer stack — one implementation, run by the simulator on its world-model wafers and
by the route linter on its paper wafer (docs/process.md §1.6), so the two cannot disagree.

Rates per chemistry × material at the chemistry's reference temperature (chemistry.py); the caller
passes the effective time at that temperature. An etchant attacks every exposed material it etches
— selectivity is the table, not a rule. Etching is isotropic: under a mask the same material is
undercut laterally while it is exposed at the mask's edge. Resist strippers reach resist from the
sidewalls and lift off whatever is on it.

A sacrificial layer is released only from where the etchant *reaches* it: a region in which it lies
exposed on top (a release window). From the moment the front clears the window, it runs laterally
under the covered regions; a layer reached once stays reachable. A sacrificial layer sealed under
other films is never touched, whatever the chemistry (the retained variant of product D relies on it).

Layers are any objects with `material`, `role`, `thickness_nm` and a `props` dict (the simulator's
`Layer`, the linter's `PaperLayer`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from drivers.wet_bench.chemistry import nominal_rate

CLEAN_DRY = "supercritical_co2"        # the only dry without capillary forces on a released part


class LayerLike(Protocol):
    material: str
    role: str
    thickness_nm: float
    props: dict[str, Any]


@dataclass
class EtchReport:
    removed_nm: float = 0.0            # from the largest region (what a bench's thickness probe reports)
    undercut_um: float = 0.0
    release_um: float = 0.0
    released: bool = False
    lifted_off: list[str] = field(default_factory=list)
    attacked: list[tuple[str, Any, float, float]] = field(default_factory=list)
    """(region, layer, its thickness before, fraction removed) for every layer the bath thinned or cleared"""
    touched: bool = False              # anything at all removed, stripped, undercut or released

    def reached(self) -> bool:
        return self.release_um > 0


def rate_nm_min(chemistry: str, layer: LayerLike) -> float:
    return nominal_rate(chemistry, layer.material, layer.props)


def etch_regions(regions: dict[str, list[Any]], areas: dict[str, float], chemistry: str, t_eff_s: float,
                 activity: float = 1.0) -> EtchReport:
    """Apply t_eff seconds (at the reference temperature) of a chemistry to every region."""
    rep = EtchReport()
    cleared_at: dict[str, float] = {}
    reached_at: dict[str, float] = {}          # sacrificial material → when its window opened
    largest = max(regions, key=lambda r: areas.get(r, 0.0))
    _strip_resist(regions, chemistry, t_eff_s, activity, rep)
    for region in sorted(regions, key=lambda r: -areas.get(r, 0.0)):
        stack = regions[region]
        left = t_eff_s
        while left > 0 and stack:
            top = stack[-1]
            rate = rate_nm_min(chemistry, top) * activity / 60.0
            if rate <= 0:        # the chemistry does not attack this layer: it stops here
                break
            if top.role == "sacrificial":
                reached_at[top.material] = min(reached_at.get(top.material, t_eff_s), t_eff_s - left)
            need = top.thickness_nm / rate
            before = top.thickness_nm
            rep.touched = True
            if need <= left:
                left -= need
                stack.pop()
                rep.attacked.append((region, top, before, 1.0))
                cleared_at[top.material] = min(cleared_at.get(top.material, t_eff_s), t_eff_s - left)
                if region == largest:
                    rep.removed_nm += before
            else:
                top.thickness_nm -= rate * left
                rep.attacked.append((region, top, before, rate * left / before))
                if region == largest:
                    rep.removed_nm += rate * left
                left = 0.0
    _undercut(regions, chemistry, t_eff_s, activity, cleared_at, rep)
    _release(regions, chemistry, t_eff_s, activity, reached_at, rep)
    return rep


def _strip_resist(regions: dict[str, list[Any]], chemistry: str, t_s: float, activity: float, rep: EtchReport) -> None:
    for region, stack in regions.items():
        for layer in [l for l in stack if l.role == "resist"]:
            rate = rate_nm_min(chemistry, layer) * activity / 60.0
            if rate > 0 and rate * t_s >= layer.thickness_nm and any(l is layer for l in stack):
                i = next(i for i, l in enumerate(stack) if l is layer)
                gone = stack[i:]
                del stack[i:]
                rep.touched = True
                rep.lifted_off += [f"{region}:{l.material}" for l in gone[1:]]


def _undercut(regions: dict[str, list[Any]], chemistry: str, t_s: float, activity: float,
              cleared_at: dict[str, float], rep: EtchReport) -> None:
    """Masked layers of a material that cleared elsewhere are etched in from the mask's edge."""
    for layer in (l for stack in regions.values() for l in stack[:-1]):
        if layer.material in cleared_at and layer.role not in ("pad", "substrate", "sacrificial"):
            lateral_um = rate_nm_min(chemistry, layer) * activity / 60.0 * (t_s - cleared_at[layer.material]) / 1000
            layer.props["undercut_um"] = round(layer.props.get("undercut_um", 0.0) + lateral_um, 4)
            rep.undercut_um = max(rep.undercut_um, layer.props["undercut_um"])


def _release(regions: dict[str, list[Any]], chemistry: str, t_s: float, activity: float,
             reached_at: dict[str, float], rep: EtchReport) -> None:
    """The front runs laterally from the window under every covered part of a reached layer."""
    for stack in regions.values():
        for layer in stack:
            distance = layer.props.get("release_distance_um")
            if layer.role != "sacrificial" or distance is None:
                continue
            if layer.props.get("reached"):
                since = 0.0
            elif layer.material in reached_at:
                since = reached_at[layer.material]
                layer.props["reached"] = True
            else:
                continue                 # sealed: no window anywhere lets the etchant in
            rate = rate_nm_min(chemistry, layer) * activity / 60
            if rate <= 0:
                continue
            front = layer.props.get("release_um", 0.0) + rate * (t_s - since) / 1000
            layer.props["release_um"] = round(min(front, distance), 4)
            rep.release_um = max(rep.release_um, layer.props["release_um"])
            rep.touched = True
            if front >= distance:
                layer.props["released"] = True
                layer.props["gap_from"] = layer.material
                layer.material, layer.role = "void", "gap"
                rep.released = True


def dry(regions: dict[str, list[Any]], dryer: str, released_now: bool) -> bool:
    """Capillary forces on drying pull a just-released part down unless the dry is supercritical.
    Returns True when the gaps were stuck."""
    if not released_now or dryer == CLEAN_DRY:
        return False
    for layer in (l for stack in regions.values() for l in stack if l.role == "gap"):
        layer.props["stiction"] = True
    return True
