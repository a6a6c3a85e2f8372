"""Metrology on paper: it changes nothing."""
from drivers.effects import Effect, Finding, Measure
from drivers.metrology.recipe import MetrologyRecipe


def effects(r: MetrologyRecipe) -> list[Effect]:
    return [Measure(r.measurement, r.region, r.material)]


def checks(r: MetrologyRecipe) -> list[Finding]:
    return []
