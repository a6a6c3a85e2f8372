"""Litho on paper: a film on every region, a soft bake, openings over the mask's regions."""
from drivers.effects import Deposit, Effect, Finding, Heat, Open
from drivers.litho.recipe import LithoRecipe
from drivers.materials import RESIST_T_LIMIT_C

COATED_AS = {"PSPI": "PI", "SAC-POLY": "polymer"}


def effects(r: LithoRecipe) -> list[Effect]:
    props = {"t_limit_c": RESIST_T_LIMIT_C.get(r.resist, 450.0)}
    if r.release_distance_um is not None:
        props["release_distance_um"] = r.release_distance_um
    if r.resist == "PSPI":
        props["cured"] = False
    return [Deposit(COATED_AS.get(r.resist, r.resist), r.role, r.thickness_um * 1000, props=props),
            Heat(r.soft_bake_c, "soft bake", r.soft_bake_s), Open(tuple(r.open_over))]


def checks(r: LithoRecipe) -> list[Finding]:
    return []
