"""Wet etch physics (docs/process.md §1.6, §6).

Rates per chemistry × material at the chemistry's reference temperature, Arrhenius in temperature
(one activation energy, so a bath's temperature history reduces to an effective time at the
reference temperature). An etchant attacks every exposed material it etches — selectivity is the
table, not a rule. Etching is isotropic: under a mask the same material is undercut laterally for
as long as it is exposed at the mask's edge; a sacrificial layer is released laterally from its
access windows. Resist strippers reach resist from the sidewalls and lift off whatever is on it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from drivers.wet_bench.chemistry import nominal_rate
from sim_hw.world import Layer, Wafer


def rate_nm_min(chemistry: str, layer: Layer) -> float:
    return nominal_rate(chemistry, layer.material, layer.props)


@dataclass
class EtchReport:
    removed_nm: float = 0.0
    undercut_um: float = 0.0
    release_um: float = 0.0
    released: bool = False
    lifted_off: list[str] = field(default_factory=list)


def etch_wafer(wafer: Wafer, chemistry: str, t_eff_s: float, activity: float = 1.0) -> EtchReport:
    """Apply t_eff seconds (at the reference temperature) of a chemistry to every region."""
    rep = EtchReport()
    cleared_at: dict[str, float] = {}
    field = max(wafer.regions, key=lambda r: wafer.area_cm2.get(r, 0.0))   # "removed" is reported for the largest region
    _strip_resist(wafer, chemistry, t_eff_s, activity, rep)
    for region in sorted(wafer.regions, key=lambda r: -wafer.area_cm2.get(r, 0.0)):
        stack = wafer.regions[region]
        left = t_eff_s
        while left > 0 and stack:
            top = stack[-1]
            rate = rate_nm_min(chemistry, top) * activity / 60.0
            if rate <= 0:        # the chemistry does not attack this layer: it stops here
                break
            need = top.thickness_nm / rate
            if need <= left:
                left -= need
                stack.pop()
                cleared_at[top.material] = min(cleared_at.get(top.material, t_eff_s), t_eff_s - left)
                if region == field:
                    rep.removed_nm += top.thickness_nm
            else:
                top.thickness_nm -= rate * left
                if region == field:
                    rep.removed_nm += rate * left
                left = 0.0
    _undercut(wafer, chemistry, t_eff_s, activity, cleared_at, rep)
    _release(wafer, chemistry, t_eff_s, activity, rep)
    return rep


def _strip_resist(wafer: Wafer, chemistry: str, t_s: float, activity: float, rep: EtchReport) -> None:
    for region in wafer.regions:
        for layer in [l for l in wafer.regions[region] if l.role == "resist"]:
            rate = rate_nm_min(chemistry, layer) * activity / 60.0
            if rate > 0 and rate * t_s >= layer.thickness_nm:
                gone = wafer.remove(region, layer)
                rep.lifted_off += [f"{region}:{l.material}" for l in gone[1:]]


def _undercut(wafer: Wafer, chemistry: str, t_s: float, activity: float, cleared_at: dict[str, float],
              rep: EtchReport) -> None:
    """Masked layers of a material that cleared elsewhere are etched in from the mask's edge."""
    for layer in (l for stack in wafer.regions.values() for l in stack[:-1]):
        if layer.material in cleared_at and layer.role not in ("pad", "substrate"):
            lateral_um = rate_nm_min(chemistry, layer) * activity / 60.0 * (t_s - cleared_at[layer.material]) / 1000
            layer.props["undercut_um"] = round(layer.props.get("undercut_um", 0.0) + lateral_um, 4)
            rep.undercut_um = max(rep.undercut_um, layer.props["undercut_um"])


def _release(wafer: Wafer, chemistry: str, t_s: float, activity: float, rep: EtchReport) -> None:
    for region in wafer.regions.values():
        for layer in region:
            distance = layer.props.get("release_distance_um")
            if layer.role != "sacrificial" or distance is None or layer.props.get("released"):
                continue
            front = layer.props.get("release_um", 0.0) + rate_nm_min(chemistry, layer) * activity / 60 * t_s / 1000
            layer.props["release_um"] = round(min(front, distance), 4)
            rep.release_um = max(rep.release_um, layer.props["release_um"])
            if front >= distance:
                layer.props["released"] = True
                layer.props["gap_from"] = layer.material
                layer.material, layer.role = "void", "gap"
                rep.released = True
