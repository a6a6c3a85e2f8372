"""Recipe bodies for tests (parameters only, as the driver takes them)."""
from __future__ import annotations

import copy
from typing import Any

SEED: dict[str, Any] = {
    "base_pressure_limit_torr": 5e-6, "chuck_temperature_c": 25,
    "degas": {"temperature_c": 250, "time_s": 60}, "preclean": {"removal_nm": 10, "time_s": 30},
    "layers": [
        {"material": "Ti", "role": "adhesion", "thickness_nm": 100, "power_kw": 6, "time_s": 20,
         "ar_pressure_mtorr": 4, "ar_flow_sccm": 40},
        {"material": "Cu", "role": "seed", "thickness_nm": 300, "power_kw": 12, "time_s": 15,
         "ar_pressure_mtorr": 4, "ar_flow_sccm": 40},
    ],
}


def seed(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(SEED)
    body.update(changes)
    return body
