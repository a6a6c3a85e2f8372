"""Wet bench on paper: one chemistry for a time at a temperature (the linter walks the stack)."""
from drivers.effects import Effect, Etch, Finding
from drivers.wet_bench.recipe import WetBenchRecipe


def effects(r: WetBenchRecipe) -> list[Effect]:
    return [Etch(r.chemistry, r.time_s, r.temperature_c, r.dry)]


def checks(r: WetBenchRecipe) -> list[Finding]:
    return []
