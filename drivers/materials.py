"""Material facts, declared once: what conducts (and how well), what is a polymer, which resists
stand how much heat. The route linter reasons with them; the simulators' physics uses them."""
from __future__ import annotations

# Bulk resistivity, Ω·m (thin films run higher; good enough for seed sheet resistance).
RESISTIVITY = {
    "Cu": 1.7e-8, "Au": 2.4e-8, "Al": 2.8e-8, "Ni": 7.0e-8, "Cr": 1.3e-7, "Ti": 4.2e-7, "TiW": 7.0e-7,
    "Ta": 1.3e-7, "TaN": 2.5e-6, "NiV": 4.0e-7, "CuCr": 3.0e-8, "SnAg": 1.2e-7, "SAC305": 1.3e-7, "Sn": 1.1e-7,
    "Ag-epoxy": 5.0e-6,
}
RESIST_T_LIMIT_C = {"AZ1500": 110.0, "AZ4620": 110.0, "AZ12XT": 130.0, "THICK-NEG": 130.0}  # §6.1: novolak ≤110, CA/negative ≤130
RESISTS = set(RESIST_T_LIMIT_C)
SOLDERS = {"SnAg", "SAC305", "Sn"}
POLYMERS = {"PI", "PBO", "BCB", "polymer", "epoxy", "silicone", "PSPI"} | RESISTS
POLYMER_DECOMPOSE_C = 300.0
NEEDS_CURE = ("PI", "PBO", "Ag-epoxy")      # coated or printed wet; uncured they outgas, swell and blister
DIELECTRICS = {"SiO2", "SiN", "Al2O3"} | POLYMERS


def conducts(material: str) -> bool:
    return material in RESISTIVITY


def sheet_resistance(layers: list[tuple[str, float]]) -> float:
    """Ω/sq of metal films in parallel, from (material, thickness_nm)."""
    g = sum(t * 1e-9 / RESISTIVITY[m] for m, t in layers if m in RESISTIVITY and t > 0)
    return float("inf") if g == 0 else 1.0 / g
