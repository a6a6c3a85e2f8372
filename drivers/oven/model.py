"""Oven on paper: the profile run through the oven's thermal model as a healthy oven runs it (the
simulator's own integration), so a cure or a reflow is decided from the same time-above numbers."""
from drivers.effects import Effect, Finding, Heat, Reading
from drivers.oven import thermal
from drivers.oven.recipe import OvenRecipe
from drivers.oven.spec import FACTS, nominal_history


def effects(r: OvenRecipe) -> list[Effect]:
    history = nominal_history(r.model_dump(mode="json"))
    hottest = max(r.segments, key=lambda s: s.target_c)
    return [Heat(history["peak_c"], "oven profile", hottest.hold_s, r.liquidus_c, above=history["above"]),
            Reading("peak", history["peak_c"]), Reading("tal", history["tal_s"])]


def checks(r: OvenRecipe) -> list[Finding]:
    """A purge the oven cannot finish: the N2 flow and the chamber's O2 floor decide how long the
    purge to the recipe's limit takes (the simulator purges by the same `thermal` model)."""
    if not r.n2_purge or r.o2_limit_ppm >= thermal.AIR_O2_PPM:      # no purge, or air already meets it
        return []
    needed = thermal.purge_time_s(r.o2_limit_ppm, r.n2_flow_slm)
    if needed is not None and needed <= FACTS.purge_timeout_s:
        return []
    why = ("no N2 flows" if r.n2_flow_slm <= 0 else
           f"the chamber's O2 floor is {thermal.O2_FLOOR_PPM:g} ppm" if needed is None else
           f"{r.n2_flow_slm:g} slm needs {needed:.0f} s to get there")
    return [Finding(("o2_limit_ppm",) if needed is None and r.n2_flow_slm > 0 else ("n2_flow_slm",), "purge-unreachable",
                    f"the purge to {r.o2_limit_ppm:g} ppm O2 does not finish: {why}, and the oven alarms (O2_HIGH) "
                    f"after {FACTS.purge_timeout_s:g} s")]
