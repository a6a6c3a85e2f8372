"""Oven on paper: the profile run through the oven's thermal model as a healthy oven runs it (the
simulator's own integration), so a cure or a reflow is decided from the same time-above numbers."""
from drivers.effects import Effect, Finding, Heat
from drivers.oven.recipe import OvenRecipe
from drivers.oven.spec import nominal_history


def effects(r: OvenRecipe) -> list[Effect]:
    history = nominal_history(r.model_dump(mode="json"))
    hottest = max(r.segments, key=lambda s: s.target_c)
    return [Heat(history["peak_c"], "oven profile", hottest.hold_s, r.liquidus_c, above=history["above"])]


def checks(r: OvenRecipe) -> list[Finding]:
    return []
