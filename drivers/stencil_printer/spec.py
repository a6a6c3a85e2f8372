"""The stencil printer, declared once: solder or conductive paste through a stencil, inspected (SPI)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.spec import AlarmSpec, KindSpec, MaintenanceSpec, MeasurementSpec, fault
from drivers.stencil_printer import interface
from drivers.stencil_printer.recipe import StencilPrintRecipe


@dataclass(frozen=True)
class PrinterFacts:
    load_align_s: float = 30.0
    stroke_mm: float = 300.0
    separation_s: float = 2.0
    inspect_s: float = 10.0
    wipe_s: float = 20.0
    align_sigma_um: float = 4.0
    align_limit_um: float = interface.ALIGN_LIMIT_UM
    spi_min_volume_pct: float = interface.SPI_MIN_VOLUME_PCT


FACTS = PrinterFacts()


def job_time_s(body: dict[str, Any], n: int, options: dict[str, Any]) -> float:
    per_wafer = FACTS.load_align_s + FACTS.stroke_mm / body["print_speed_mm_s"] + FACTS.separation_s + FACTS.inspect_s
    wipes = n / body["wipe_every"]             # the wipe counter runs across lots: on average
    return n * per_wafer + wipes * FACTS.wipe_s


SPEC = KindSpec(
    kind=interface.KIND, doc=__doc__ or "", phases=interface.PHASES, recipe_model=StencilPrintRecipe,
    limits=interface.LIMITS,
    alarms=(AlarmSpec(7001, "MISALIGNMENT", f"stencil-to-wafer offset above {FACTS.align_limit_um:g} µm after alignment"),
            AlarmSpec(7002, "PRINT_VOLUME_LOW", f"inspected paste volume below {FACTS.spi_min_volume_pct:g} % of the aperture"),
            AlarmSpec(7003, "PASTE_EXPIRED", "paste past its open time on the stencil")),
    measurements=(MeasurementSpec("paste.volume", "%", "printed volume, % of the aperture", "volume_pct"),
                  MeasurementSpec("paste.height", "µm", "printed deposit height", "height_um"),
                  MeasurementSpec("print.offset", "µm", "stencil-to-wafer offset after alignment", "offset_um"),
                  MeasurementSpec("print.area_ratio", "", "aperture area ratio", "area_ratio")),
    maintenance=(MaintenanceSpec("stencil-wipe", "a solvent and vacuum wipe unloads the apertures: prints since "
                                                 "clean restart (the recipe's dry wipe does not)"),),
    faults=(fault("clogged_apertures", "apertures clog: volume × `factor` until the next wipe",
                  factor=(float, 0.4, "of the normal volume")),
            fault("misalignment", f"alignment offset of `um` µm: above {FACTS.align_limit_um:g} µm the tool alarms",
                  um=(float, 40.0, "µm")),
            fault("paste_expired", "the paste on the stencil is past its open time: PASTE_EXPIRED")),
    job_time_s=job_time_s, wires={"modbus": interface.INTERFACE}, facts=FACTS,
    readings=interface.INTERFACE.readbacks,
)
