"""Litho on paper: a film on every region as thick as the spin speed makes it, a soft bake, openings
over the mask's regions that clear as far as the set dose and develop time reach (`resists`, the
simulator's own physics); the recipe's own consistency — its declared thickness against its spin
speed, and an opening that does not clear."""
from drivers.effects import Deposit, Effect, Finding, Heat, Open, Reading
from drivers.litho.recipe import LithoRecipe
from drivers.litho.resists import cleared_fraction, develop_to_clear_s, dose_to_clear, spin_thickness_um
from drivers.materials import RESIST_T_LIMIT_C

COATED_AS = {"PSPI": "PI", "SAC-POLY": "polymer"}
COAT_TOLERANCE = 0.10   # the declared thickness within 10 % of what the spin speed coats


def coated_um(r: LithoRecipe) -> float:
    return spin_thickness_um(r.resist, r.spin_rpm)


def cleared(r: LithoRecipe) -> float:
    """Share of the film's depth the opening clears: the exposure time is set from the recipe's dose
    at the lamp's nominal intensity, so on paper the delivered dose is the set one."""
    return cleared_fraction(r.resist, coated_um(r), r.dose_mj_cm2, r.develop_s)


def effects(r: LithoRecipe) -> list[Effect]:
    props = {"t_limit_c": RESIST_T_LIMIT_C.get(r.resist, 450.0)}
    if r.release_distance_um is not None:
        props["release_distance_um"] = r.release_distance_um
    if r.resist == "PSPI":
        props["cured"] = False
    return [Deposit(COATED_AS.get(r.resist, r.resist), r.role, coated_um(r) * 1000, props=props,
                    reported_as="resist.thickness"),
            Heat(r.soft_bake_c, "soft bake", r.soft_bake_s), Reading("dose", r.dose_mj_cm2),
            Open(tuple(r.open_over), residue=1.0 - cleared(r))]


def checks(r: LithoRecipe) -> list[Finding]:
    out = []
    coated = coated_um(r)
    if abs(coated - r.thickness_um) > COAT_TOLERANCE * r.thickness_um:
        out.append(Finding(("spin_rpm",), "coat-consistency",
                           f"{r.resist} spun at {r.spin_rpm:g} rpm coats {coated:.1f} µm, not the declared "
                           f"{r.thickness_um:g} µm (±{COAT_TOLERANCE:.0%})"))
    if (share := cleared(r)) < 1.0:
        dose, develop = dose_to_clear(r.resist, coated), develop_to_clear_s(r.resist, coated)
        short = [f"a dose of {dose:.0f} mJ/cm² (set {r.dose_mj_cm2:g})" if r.dose_mj_cm2 < dose else "",
                 f"{develop:.0f} s of develop (set {r.develop_s:g})" if r.develop_s < develop else ""]
        out.append(Finding(("dose_mj_cm2",) if r.dose_mj_cm2 < dose else ("develop_s",), "opening-not-cleared",
                           f"the {coated:.1f} µm {r.resist} film needs {' and '.join(s for s in short if s)} to "
                           f"clear; the openings over {', '.join(r.open_over)} clear {share:.1%} of it and keep a residue"))
    return out
