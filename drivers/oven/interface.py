"""Oven (cure / reflow, batch, PLC on Modbus TCP): profile segments, N2 purge, O2 limit.

Numbers from docs/process.md §1.5.
"""
from __future__ import annotations

from drivers.limits import Limit
from drivers.modbus_jobs import PlcInterface
from drivers.modbus_spec import Reg, repeated
from drivers.scpi_jobs import JOB_COMMANDS
from drivers.scpi_spec import ScpiInterface

KIND = "oven"
PHASES = ("PURGE", "HEAT", "COOL")
MAX_SEGMENTS = 8

LIMITS: dict[str, Limit] = {
    "ramp_c_per_min": Limit(0.5, 180.0, "°C/min"),
    "target_c": Limit(20.0, 450.0, "°C"),
    "hold_s": Limit(0.0, 36000.0, "s"),
    "o2_limit_ppm": Limit(5.0, 250000.0, "ppm"),
    "n2_flow_slm": Limit(0.0, 200.0, "slm"),
    "cool_c_per_min": Limit(1.0, 240.0, "°C/min"),
    "liquidus_c": Limit(100.0, 350.0, "°C"),
}


RECIPE_REGS = repeated("segments", MAX_SEGMENTS, 2000, [("ramp_c_per_min", "f32", "°C/min"),
                                                        ("target_c", "f32", "°C"), ("hold_s", "f32", "s")]) + (
    Reg("n2_purge", 2060, "bool", writable=True),
    Reg("o2_limit_ppm", 2061, "f32", unit="ppm", writable=True),
    Reg("n2_flow_slm", 2063, "f32", unit="slm", writable=True),
    Reg("cool_c_per_min", 2065, "f32", unit="°C/min", writable=True),
    Reg("liquidus_c", 2067, "f32", unit="°C", writable=True),
)
READBACK_REGS = (
    Reg("oven_c", 3000, "f32", unit="°C"), Reg("wafer_c", 3002, "f32", unit="°C"), Reg("setpoint_c", 3004, "f32", unit="°C"),
    Reg("o2_ppm", 3006, "f32", unit="ppm"), Reg("segment", 3008, "u16"),
)
RESULT_FIELDS = ("peak_c", "tal_s", "o2_max_hot_ppm", "time_above_230_s")

INTERFACE = PlcInterface(KIND, PHASES, RESULT_FIELDS, RECIPE_REGS, READBACK_REGS)

# A furnace controller that speaks SCPI instead (vendor `scpi-furnace`): the shared job commands suffice.
SCPI_INTERFACE = ScpiInterface(kind=KIND, commands=JOB_COMMANDS)
