"""Wet bench (batch of up to 25; etch, strip, release), PLC on Modbus TCP. docs/process.md §1.6."""
from __future__ import annotations

from drivers.limits import Limit
from drivers.modbus_jobs import PlcInterface
from drivers.modbus_spec import Reg

KIND = "wet_bench"
PHASES = ("ETCH", "RINSE", "DRY")
CHEMISTRIES = ("cu_etch", "cr7", "tiw_etch", "dhf", "boe", "pan", "nmp_strip")
DRYERS = ("spin_dry", "ipa_dry", "supercritical_co2")
TEMPERATURE_BAND_C = 5.0

LIMITS: dict[str, Limit] = {
    "temperature_c": Limit(15.0, 90.0, "°C"),
    "time_s": Limit(1.0, 36000.0, "s"),
    "flow_lpm": Limit(0.0, 50.0, "l/min"),
    "rinse_s": Limit(0.0, 1800.0, "s"),
}


RECIPE_REGS = (
    Reg("chemistry", 2000, "enum", choices=CHEMISTRIES, writable=True),
    Reg("temperature_c", 2001, "f32", unit="°C", writable=True),
    Reg("time_s", 2003, "f32", unit="s", writable=True),
    Reg("flow_lpm", 2005, "f32", unit="l/min", writable=True),
    Reg("rinse_s", 2007, "f32", unit="s", writable=True),
    Reg("dry", 2009, "enum", choices=DRYERS, writable=True),
    Reg("megasonic", 2010, "bool", writable=True),
)
READBACK_REGS = (
    Reg("bath_temp_c", 3000, "f32", unit="°C"), Reg("bath_level_pct", 3002, "f32", unit="%"),
    Reg("bath_age_h", 3004, "f32", unit="h"), Reg("flow_actual_lpm", 3006, "f32", unit="l/min"),
    Reg("bath_chemistry", 3008, "enum", choices=CHEMISTRIES),
)
RESULT_FIELDS = ("removed_nm", "undercut_um", "release_um", "stiction")

INTERFACE = PlcInterface(KIND, PHASES, RESULT_FIELDS, RECIPE_REGS, READBACK_REGS)
