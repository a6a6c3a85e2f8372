"""bumpline's reference PVD cluster controller: the SCPI job protocol plus `MEAS:PRES?` and `DIAG:ARC?`."""
from __future__ import annotations

from drivers.backend import ScpiJobBackend
from drivers.sputter.spec import SPEC
from drivers.vendors import scpi_vendor


class ScpiSputterBackend(ScpiJobBackend):
    def pressure_torr(self) -> float:
        (torr,) = self.scpi.query("MEAS:PRES?")
        return float(torr)

    def arc_counts(self) -> tuple[int, int]:
        hard, micro = self.scpi.query("DIAG:ARC?")
        return int(hard), int(micro)


VENDOR = scpi_vendor("bumpline-pvd", SPEC, ScpiSputterBackend, __doc__ or "")
