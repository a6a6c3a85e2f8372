"""Sputter on paper: degas heat, pre-clean of the native oxide, a blanket film per layer as thick
as the rate × power × time the simulator deposits by (a new target); the recipe's own consistency —
each layer's declared thickness against what its power and time grow."""
from drivers.effects import Clean, Deposit, Effect, Finding, Heat, Reading
from drivers.sputter import vacuum
from drivers.sputter.deposition import OXIDE_GONE_NM, RATE_NM_PER_MIN_PER_KW, deposition_rate_nm_min, preclean_depth_nm
from drivers.sputter.recipe import SputterLayer, SputterRecipe
from drivers.sputter.spec import FACTS

DEPOSITION_TOLERANCE = 0.10   # as the plater's Faraday consistency: the declared thickness within 10 %


def grown_nm(layer: SputterLayer) -> float:
    """What the layer's power and time grow on a new target (the rate per kW is the material's)."""
    return deposition_rate_nm_min(layer.material, layer.power_kw) * layer.time_s / 60


def effects(r: SputterRecipe) -> list[Effect]:
    out: list[Effect] = [Heat(r.degas.temperature_c, "degas", r.degas.time_s)]
    if r.preclean:          # SiO2-equivalent nanometres: the Al pad's oxide goes at its own, slower rate
        out.append(Clean("native_oxide", preclean_depth_nm(r.preclean.removal_nm), OXIDE_GONE_NM))
    for l in r.layers:      # no time: no film, and the tool reports 0 nm
        out.append(Deposit(l.material, l.role, grown_nm(l), reported_as=f"thickness.{l.material}") if grown_nm(l) > 0
                   else Reading(f"thickness.{l.material}", 0.0))
    return out


def checks(r: SputterRecipe) -> list[Finding]:
    out = []
    needed = vacuum.time_to_pressure(r.base_pressure_limit_torr)
    if needed is None or needed > FACTS.pumpdown_timeout_s:
        out.append(Finding(("base_pressure_limit_torr",), "base-pressure-unreachable",
                           f"a clean chamber pumps down to {vacuum.ultimate_pressure():.1e} Torr at best"
                           + ("" if needed is None else f" and reaches {r.base_pressure_limit_torr:.1e} Torr only after {needed:.0f} s")
                           + f": the tool times out after {FACTS.pumpdown_timeout_s:g} s waiting for the "
                           f"{r.base_pressure_limit_torr:.1e} Torr limit"))
    for i, l in enumerate(r.layers):
        grown = grown_nm(l)
        if abs(grown - l.thickness_nm) > DEPOSITION_TOLERANCE * l.thickness_nm:
            out.append(Finding(("layers", i, "thickness_nm"), "deposition-consistency",
                               f"{l.material} at {l.power_kw:g} kW for {l.time_s:g} s deposits {grown:.0f} nm "
                               f"({RATE_NM_PER_MIN_PER_KW[l.material]:g} nm/min/kW), not the declared "
                               f"{l.thickness_nm:g} nm (±{DEPOSITION_TOLERANCE:.0%})"))
    return out
