"""Oven on paper: the hottest hold of the profile (the product stays at or below the zone)."""
from drivers.effects import Effect, Finding, Heat
from drivers.oven.recipe import OvenRecipe


def effects(r: OvenRecipe) -> list[Effect]:
    hottest = max(r.segments, key=lambda s: s.target_c)
    return [Heat(hottest.target_c, "oven profile", hottest.hold_s, r.liquidus_c)]


def checks(r: OvenRecipe) -> list[Finding]:
    return []
