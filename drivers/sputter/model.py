"""Sputter on paper: degas heat, pre-clean of the native oxide, a blanket film per layer."""
from drivers.effects import Clean, Deposit, Effect, Finding, Heat
from drivers.sputter.recipe import SputterRecipe


def effects(r: SputterRecipe) -> list[Effect]:
    out: list[Effect] = [Heat(r.degas.temperature_c, "degas", r.degas.time_s)]
    if r.preclean:
        out.append(Clean("native_oxide"))
    out += [Deposit(l.material, l.role, l.thickness_nm) for l in r.layers]
    return out


def checks(r: SputterRecipe) -> list[Finding]:
    return []
