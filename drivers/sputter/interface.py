"""Sputter interface spec, as data: SCPI commands, phases, alarms and hard limits.

Numbers from docs/process.md §1.1 (300 mm DC magnetron cluster).
"""
from __future__ import annotations

from drivers.limits import Limit
from drivers.scpi_jobs import JOB_COMMANDS
from drivers.scpi_spec import Arg, Command, Json, ScpiInterface

KIND = "sputter"
MATERIALS = ("Ti", "TiW", "Cr", "Ta", "TaN", "Al", "NiV", "CuCr", "Cu", "Au")
PHASES = ("PUMPDOWN", "DEGAS", "PRECLEAN", "DEPOSIT", "VENT")
PLASMA_PHASES = ("PRECLEAN", "DEPOSIT")

LIMITS: dict[str, Limit] = {
    "power_kw": Limit(1.0, 40.0, "kW"),
    "time_s": Limit(0.0, 3600.0, "s"),
    "thickness_nm": Limit(1.0, 5000.0, "nm"),
    "ar_pressure_mtorr": Limit(1.0, 15.0, "mTorr"),
    "ar_flow_sccm": Limit(10.0, 100.0, "sccm"),
    "temperature_c": Limit(20.0, 350.0, "°C"),
    "removal_nm": Limit(0.0, 50.0, "nm"),
    "base_pressure_limit_torr": Limit(1e-8, 5e-6, "Torr"),
    "chuck_temperature_c": Limit(20.0, 350.0, "°C"),
}


INTERFACE = ScpiInterface(kind=KIND, commands=JOB_COMMANDS + (
    Command("MEAS:PRES?", "measure_pressure", returns=(Arg("torr", float, "Torr"),), idempotent=True,
            doc="Process-chamber pressure"),
    Command("DIAG:ARC?", "arc_counts", returns=(Arg("hard", int), Arg("micro", int)), idempotent=True,
            doc="Arc counters since power-up"),
    Command("DIAG:TARG?", "target_life", returns=(Arg("kwh", Json),), idempotent=True,
            doc="Energy delivered to each target, kWh"),
))
