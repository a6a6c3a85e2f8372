"""Stencil printing on paper: paste on the named regions or into open holes; area ratio and the
three-ball rule for the paste type (§6.7)."""
from drivers.effects import Deposit, Effect, Finding
from drivers.stencil_printer.interface import MAX_PARTICLE_UM, MIN_AREA_RATIO
from drivers.stencil_printer.recipe import StencilPrintRecipe

NOMINAL_TRANSFER = 0.85


def effects(r: StencilPrintRecipe) -> list[Effect]:
    material = "Ag-epoxy" if r.paste == "Ag-epoxy" else "SAC305"
    if r.mode == "fill_holes":
        return [Deposit(material, "paste", 0.0, where="holes", props={"paste": r.paste})]
    return [Deposit(material, "paste", r.stencil_thickness_um * 1000 * NOMINAL_TRANSFER, where="regions",
                    regions=tuple(r.print_over), props={"paste": r.paste})]


def checks(r: StencilPrintRecipe) -> list[Finding]:
    out = []
    if r.mode == "pads":
        ar = r.aperture_um / (4 * r.stencil_thickness_um)
        if ar < MIN_AREA_RATIO:
            out.append(Finding(("aperture_um",), "stencil-area-ratio",
                               f"area ratio {ar:.2f} ({r.aperture_um:g} µm aperture in a {r.stencil_thickness_um:g} µm "
                               f"stencil) is below {MIN_AREA_RATIO}: paste stays in the stencil"))
    need = 3 * MAX_PARTICLE_UM[r.paste]
    if r.aperture_um < need:
        out.append(Finding(("aperture_um",), "three-ball",
                           f"{r.aperture_um:g} µm aperture holds fewer than three {MAX_PARTICLE_UM[r.paste]:g} µm "
                           f"particles of {r.paste} (needs ≥ {need:g} µm)"))
    return out
