"""What a metrology measurement reads on a layer stack — one definition, used by the simulator
(which adds the radial profile and instrument noise) and by the route linter (which predicts the
nominal reading at that point of the route and holds it against the step's spec)."""
from __future__ import annotations

from typing import Any

from drivers.materials import conducts


def reading(stack: list[Any], measurement: str, material: str | None = None) -> tuple[str, str, float, list[Any]]:
    """(name, unit, nominal value, the layers it reads) for one region's stack."""
    if measurement == "film_thickness":
        films = [l for l in stack if l.material == material]
        return f"film.{material}", "nm", sum(l.thickness_nm for l in films), films
    if measurement == "bump_height":
        # everything conductive the line built on this region (the bond pad itself is the chip's)
        metal = [l for l in stack if conducts(l.material) and l.role not in ("pad", "substrate")]
        return "bump.height", "µm", sum(l.thickness_nm for l in metal) / 1000.0, metal
    if measurement == "paste_volume":
        paste = [l for l in stack if l.role == "paste"]
        return "paste.volume", "%", (paste[-1].props.get("volume_pct", 0.0) if paste else 0.0), paste
    resist = [l for l in stack if l.role == "resist"]
    return "resist.residue", "nm", sum(l.thickness_nm for l in resist), resist
