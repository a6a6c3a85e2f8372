"""What a thermal history does to the layers on a wafer (docs/process.md §1.5, §6)."""
from __future__ import annotations

from typing import Any

from drivers.materials import POLYMER_DECOMPOSE_C, SOLDERS
from drivers.oven.spec import FACTS
from sim_hw.world import Wafer


def apply_thermal(wafer: Wafer, tool: str, job: str, history: dict[str, Any]) -> None:
    """history: peak_c, tal_s, above: {°C: seconds}, o2_max_hot_ppm, liquidus_c."""
    peak, above = history["peak_c"], history["above"]
    for region in wafer.regions.values():
        for layer in region:
            p = layer.props
            if layer.role == "resist" and peak > p.get("t_limit_c", 120.0):
                p["damaged"] = f"{peak:.0f} °C > {p.get('t_limit_c', 120.0):.0f} °C limit ({tool} {job})"
            if layer.material in ("PI", "PBO") and not p.get("cured"):
                if cure := FACTS.pi_cure(above):
                    p["cured"], p["cure_c"] = True, cure.nominal_c
                    layer.thickness_nm *= FACTS.pi_cure_shrink
            if layer.material == "Ag-epoxy" and FACTS.paste_cured(above):
                p["cured"] = True
            if layer.role == "sacrificial" and layer.material in ("polymer", "epoxy") and peak > POLYMER_DECOMPOSE_C:
                p["damaged"] = f"polymer sacrificial layer decomposed at {peak:.0f} °C"
            if layer.material in SOLDERS and peak >= history["liquidus_c"]:
                p["reflows"] = p.get("reflows", 0) + 1
                if history["o2_max_hot_ppm"] > FACTS.dewet_o2_ppm:
                    p["dewetted"] = True
    if any(l.material in SOLDERS for r in wafer.regions.values() for l in r) and peak >= history["liquidus_c"]:
        wafer.reflow_count += 1
    damaged = [l.props["damaged"] for r in wafer.regions.values() for l in r if "damaged" in l.props]
    for d in damaged:
        if d not in wafer.flags:
            wafer.flags.append(d)
