"""Stencil printer (solder or conductive paste), PLC on Modbus TCP. docs/process.md §1.4."""
from __future__ import annotations

from drivers.limits import Limit
from drivers.modbus_jobs import PlcInterface
from drivers.modbus_spec import Reg

KIND = "stencil_printer"
PHASES = ("ALIGN", "PRINT", "INSPECT", "WIPE")
PASTES = ("SAC305-T5", "SAC305-T6", "Ag-epoxy")
MODES = ("pads", "fill_holes")
ALIGN_LIMIT_UM = 25.0
SPI_MIN_VOLUME_PCT = 60.0
MIN_AREA_RATIO = 0.66                                                 # §1.4 (est.)
MAX_PARTICLE_UM = {"SAC305-T5": 25.0, "SAC305-T6": 15.0, "Ag-epoxy": 10.0}   # three-ball rule
OPEN_TIME_H = {"SAC305-T5": 8.0, "SAC305-T6": 8.0, "Ag-epoxy": 4.0}

LIMITS: dict[str, Limit] = {
    "stencil_thickness_um": Limit(38.0, 120.0, "µm"),
    "aperture_um": Limit(30.0, 1000.0, "µm"),
    "print_speed_mm_s": Limit(10.0, 100.0, "mm/s"),
    "squeegee_pressure_n_mm": Limit(0.1, 0.6, "N/mm"),
    "snap_off_mm": Limit(0.0, 0.5, "mm"),
    "separation_speed_mm_s": Limit(0.1, 5.0, "mm/s"),
    "wipe_every": Limit(1, 10, "prints"),
}


RECIPE_REGS = (
    Reg("paste", 2000, "enum", choices=PASTES, writable=True),
    Reg("mode", 2001, "enum", choices=MODES, writable=True),
    Reg("stencil_id", 2002, "str", 8, writable=True),
    Reg("stencil_thickness_um", 2010, "f32", unit="µm", writable=True),
    Reg("aperture_um", 2012, "f32", unit="µm", writable=True),
    Reg("print_speed_mm_s", 2014, "f32", unit="mm/s", writable=True),
    Reg("squeegee_pressure_n_mm", 2016, "f32", unit="N/mm", writable=True),
    Reg("snap_off_mm", 2018, "f32", unit="mm", writable=True),
    Reg("separation_speed_mm_s", 2020, "f32", unit="mm/s", writable=True),
    Reg("wipe_every", 2022, "u16", writable=True),
    Reg("print_over#", 2023, "u16", writable=True),
    *(Reg(f"print_over[{i}]", 2024 + 8 * i, "str", 8, writable=True) for i in range(4)),
)
READBACK_REGS = (
    Reg("prints_since_wipe", 3000, "u16"), Reg("paste_age_min", 3001, "f32", unit="min"),
    Reg("align_x_um", 3003, "f32", unit="µm"), Reg("align_y_um", 3005, "f32", unit="µm"),
    Reg("loaded_stencil", 3007, "str", 8), Reg("loaded_paste", 3015, "enum", choices=PASTES),
    Reg("prints_since_clean", 3016, "u16"),     # since the last stencil wipe (the dry wipe does not reset it)
)
RESULT_FIELDS = ("volume_pct", "height_um", "offset_um", "area_ratio")

INTERFACE = PlcInterface(KIND, PHASES, RESULT_FIELDS, RECIPE_REGS, READBACK_REGS)
