"""Litho track (coat / bake / expose / develop), SCPI. Numbers: docs/process.md §1.2."""
from __future__ import annotations

from drivers.limits import Limit
from drivers.scpi_jobs import JOB_COMMANDS
from drivers.scpi_spec import Arg, Command, ScpiInterface

KIND = "litho"
PHASES = ("COAT", "BAKE", "EXPOSE", "DEVELOP")
RESISTS = ("AZ1500", "AZ4620", "AZ12XT", "THICK-NEG")
FILMS = RESISTS + ("PSPI", "SAC-POLY")   # photo-definable polyimide; sacrificial photopolymer (product D)
ROLES = ("resist", "passivation", "sacrificial")
NOMINAL_LAMP_MW_CM2 = 20.0

LIMITS: dict[str, Limit] = {
    "spin_rpm": Limit(300.0, 6000.0, "rpm"),
    "spin_s": Limit(2.0, 120.0, "s"),
    "soft_bake_c": Limit(60.0, 150.0, "°C"),
    "soft_bake_s": Limit(30.0, 1800.0, "s"),
    "dose_mj_cm2": Limit(50.0, 3000.0, "mJ/cm²"),
    "develop_s": Limit(30.0, 600.0, "s"),
    "thickness_um": Limit(0.5, 150.0, "µm"),
    "release_distance_um": Limit(1.0, 500.0, "µm"),
}


INTERFACE = ScpiInterface(kind=KIND, commands=JOB_COMMANDS + (
    Command("MEAS:LAMP?", "lamp_intensity", returns=(Arg("mw_cm2", float, "mW/cm²"),), idempotent=True,
            doc="Exposure lamp intensity at the wafer plane"),
    Command("MEAS:RES?", "resist_level", returns=(Arg("percent", float, "%"),), idempotent=True,
            doc="Resist left in the dispense bottle"),
))
