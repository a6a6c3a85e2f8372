"""Plating on paper: metal where the top conducts, given a seed, as thick as Faraday at the bath's
efficiency makes it; the recipe's own Faraday consistency (its target against its numbers)."""
from drivers.effects import Deposit, Effect, Finding
from drivers.plater.interface import BATH_EFFICIENCY, BATH_METAL, CYANIDE_BATHS, K_UM_PER_ASD_MIN
from drivers.plater.recipe import PlaterRecipe

FARADAY_TOLERANCE = 0.10   # §6.5


def faraday_um(r: PlaterRecipe) -> float:
    metal, _ = BATH_METAL[r.bath]
    return K_UM_PER_ASD_MIN[metal] * r.current_density_asd * r.efficiency_pct / 100 * r.time_s / 60


def grown_um(r: PlaterRecipe) -> float:
    """What the bath really grows over the area the current is set for: Faraday at the bath's own
    efficiency (the simulator plates the same charge the same way)."""
    metal, _ = BATH_METAL[r.bath]
    return K_UM_PER_ASD_MIN[metal] * r.current_density_asd * BATH_EFFICIENCY[r.bath] * r.time_s / 60


def effects(r: PlaterRecipe) -> list[Effect]:
    _, deposit = BATH_METAL[r.bath]
    return [Deposit(deposit, r.deposit_role, grown_um(r) * 1000, where="conductive", needs_seed=True,
                    attacks=("resist",) if r.bath in CYANIDE_BATHS else (), props={"bath": r.bath, "open_area_cm2": r.open_area_cm2},
                    reported_as="plated.thickness")]


def checks(r: PlaterRecipe) -> list[Finding]:
    expected = faraday_um(r)
    if abs(expected - r.target_thickness_um) > FARADAY_TOLERANCE * r.target_thickness_um:
        return [Finding(("target_thickness_um",), "faraday-consistency",
                        f"{r.current_density_asd:g} ASD × {r.time_s:g} s at {r.efficiency_pct:g} % plates "
                        f"{expected:.2f} µm of {BATH_METAL[r.bath][1]}, not the {r.target_thickness_um:g} µm target "
                        f"(±{FARADAY_TOLERANCE:.0%})")]
    return []
