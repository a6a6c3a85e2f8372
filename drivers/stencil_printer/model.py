"""Stencil printing on paper: paste on the named regions or into open holes, as much of the aperture
as the transfer physics releases (`paste`, the simulator's own, on a clean stencil); area ratio and
the three-ball rule for the paste type (§6.7), and a print the inspection would call too thin."""
from drivers.effects import Deposit, Effect, Finding, Reading
from drivers.stencil_printer.interface import MAX_PARTICLE_UM, MIN_AREA_RATIO, SPI_MIN_VOLUME_PCT
from drivers.stencil_printer.paste import transfer
from drivers.stencil_printer.recipe import StencilPrintRecipe


def transferred(r: StencilPrintRecipe) -> float:
    """Volume fraction of the aperture (or hole) that ends up as paste: fill × release × separation."""
    return transfer(r.paste, r.mode, r.aperture_um, r.stencil_thickness_um, r.squeegee_pressure_n_mm,
                    r.print_speed_mm_s, r.separation_speed_mm_s)


def effects(r: StencilPrintRecipe) -> list[Effect]:
    material = "Ag-epoxy" if r.paste == "Ag-epoxy" else "SAC305"
    fraction = transferred(r)
    props = {"paste": r.paste, "volume_pct": round(fraction * 100, 2), "cured": False}   # a paste lands uncured
    volume = Reading("paste.volume", round(fraction * 100, 2))
    if r.mode == "fill_holes":       # as deep as the resist mold, times the fill (the linter knows the mold)
        return [Deposit(material, "paste", 0.0, where="holes", props=props, reported_as="paste.height"), volume]
    return [Deposit(material, "paste", r.stencil_thickness_um * 1000 * fraction, where="regions",
                    regions=tuple(r.print_over), props=props, reported_as="paste.height"), volume]


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
    if (volume := transferred(r) * 100) < SPI_MIN_VOLUME_PCT:
        out.append(Finding(("squeegee_pressure_n_mm",), "print-volume-low",
                           f"{r.squeegee_pressure_n_mm:g} N/mm at {r.print_speed_mm_s:g} mm/s, separating at "
                           f"{r.separation_speed_mm_s:g} mm/s, transfers {volume:.1f} % of the aperture: the "
                           f"printer's inspection stops the job below {SPI_MIN_VOLUME_PCT:g} %"))
    return out
