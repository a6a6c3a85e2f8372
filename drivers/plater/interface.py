"""Electroplater: single-wafer cells in one tool. The bath controller / job sequencer is a PLC on
Modbus TCP; every cell's rectifier speaks SCPI on its own socket. docs/process.md §1.3."""
from __future__ import annotations

from drivers.limits import Limit
from drivers.modbus_jobs import PlcInterface
from drivers.modbus_spec import Reg
from drivers.scpi_spec import Arg, Command, ScpiInterface

KIND = "plater"
PHASES = ("PREWET", "PLATE", "SRD")
BATHS = ("Cu-acid", "Ni-sulfamate", "Au-sulfite", "Au-cyanide", "SnAg-MSA")
DEPOSIT_ROLES = ("spacing", "bump_pad", "rdl", "ubm", "bump", "cap", "cup", "sacrificial")
# Temperature band per bath (°C): outside it the PLC alarms (Cu ≤ 30 °C [S3]; Ni decomposes > 70 °C [S4]).
TEMP_BANDS = {"Cu-acid": (20.0, 30.0), "Ni-sulfamate": (40.0, 55.0), "Au-sulfite": (45.0, 60.0),
              "Au-cyanide": (55.0, 70.0), "SnAg-MSA": (20.0, 30.0)}
MIN_LEVEL_PCT = 80.0
# Faraday: µm per (ASD·min) at 100 % efficiency, per plated metal (docs/process.md §1.3).
K_UM_PER_ASD_MIN = {"Cu": 0.221, "Ni": 0.205, "Au": 0.635, "Sn": 0.506}
BATH_METAL = {"Cu-acid": ("Cu", "Cu"), "Ni-sulfamate": ("Ni", "Ni"), "Au-sulfite": ("Au", "Au"),
              "Au-cyanide": ("Au", "Au"), "SnAg-MSA": ("Sn", "SnAg")}   # (Faraday metal, deposit material)
# Cathode current efficiency of each bath as it runs (SnAg baths run lower): the simulator plates with
# it and the route linter's paper wafer grows with it; a recipe's `efficiency_pct` is the engineer's assumption.
BATH_EFFICIENCY = {"Cu-acid": 0.98, "Ni-sulfamate": 0.97, "Au-sulfite": 0.99, "Au-cyanide": 0.99, "SnAg-MSA": 0.93}
CYANIDE_BATHS = ("Au-cyanide",)    # attack resist (§6.4)

LIMITS: dict[str, Limit] = {
    "current_density_asd": Limit(0.05, 10.0, "A/dm²"),
    "time_s": Limit(1.0, 7200.0, "s"),
    "open_area_cm2": Limit(1.0, 707.0, "cm²"),
    "target_thickness_um": Limit(0.01, 150.0, "µm"),
    "efficiency_pct": Limit(50.0, 100.0, "%"),
    "bath_temperature_c": Limit(15.0, 70.0, "°C"),
    "agitation_rpm": Limit(0.0, 300.0, "rpm"),
    "prewet_s": Limit(0.0, 600.0, "s"),
    "srd_s": Limit(0.0, 600.0, "s"),
}


RECIPE_REGS = (
    Reg("bath", 2000, "enum", choices=BATHS, writable=True),
    Reg("deposit_role", 2001, "enum", choices=DEPOSIT_ROLES, writable=True),
    Reg("current_density_asd", 2002, "f32", unit="A/dm²", writable=True),
    Reg("time_s", 2004, "f32", unit="s", writable=True),
    Reg("open_area_cm2", 2006, "f32", unit="cm²", writable=True),
    Reg("target_thickness_um", 2008, "f32", unit="µm", writable=True),
    Reg("efficiency_pct", 2010, "f32", unit="%", writable=True),
    Reg("bath_temperature_c", 2012, "f32", unit="°C", writable=True),
    Reg("agitation_rpm", 2014, "f32", unit="rpm", writable=True),
    Reg("prewet_s", 2016, "f32", unit="s", writable=True),
    Reg("srd_s", 2018, "f32", unit="s", writable=True),
)
READBACK_REGS = (
    Reg("installed_bath", 3000, "enum", choices=BATHS), Reg("bath_temp_c", 3001, "f32", unit="°C"),
    Reg("bath_level_pct", 3003, "f32", unit="%"), Reg("bath_flow_lpm", 3005, "f32", unit="l/min"),
    Reg("bath_ah", 3007, "f32", unit="Ah"), Reg("cells", 3009, "u16"), Reg("cells_busy", 3010, "u16"),
    Reg("anode_ah", 3011, "f32", unit="Ah"),     # since the anodes were changed (bath_ah: since the replenish)
)
RESULT_FIELDS = ("thickness_um", "charge_ah", "current_a", "voltage_max_v", "nonuniformity_pct", "cell")

INTERFACE = PlcInterface(KIND, PHASES, RESULT_FIELDS, RECIPE_REGS, READBACK_REGS)

# Rectifier status register (STAT:QUES:COND?) bits.
QUES_CV, QUES_OV, QUES_OT, QUES_NO_LOAD = 1, 2, 16, 512

RECTIFIER = ScpiInterface(kind="rectifier", commands=(
    Command("SOUR:CURR", "set_current", params=(Arg("amps", float, "A", 0.0, 100.0),), idempotent=True),
    Command("SOUR:CURR?", "get_current", returns=(Arg("amps", float, "A"),), idempotent=True),
    Command("VOLT:PROT", "set_protection", params=(Arg("volts", float, "V", 0.0, 30.0),), idempotent=True),
    Command("VOLT:PROT?", "get_protection", returns=(Arg("volts", float, "V"),), idempotent=True),
    Command("OUTP", "set_output", params=(Arg("on", bool),), idempotent=True),
    Command("OUTP?", "get_output", returns=(Arg("on", bool),), idempotent=True),
    Command("OUTP:TIM", "set_timer", params=(Arg("seconds", float, "s", 0.0, 36000.0),), idempotent=True,
            doc="Output switches itself off after this many seconds (0: no timer)"),
    Command("MEAS:CURR?", "measure_current", returns=(Arg("amps", float, "A"),), idempotent=True),
    Command("MEAS:VOLT?", "measure_voltage", returns=(Arg("volts", float, "V"),), idempotent=True),
    Command("STAT:QUES:COND?", "questionable", returns=(Arg("bits", int),), idempotent=True,
            doc="bit 0 CV (compliance), 1 OV, 4 OT, 9 NO_LOAD"),
))
