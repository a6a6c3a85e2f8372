"""bumpline's reference litho track controller: the SCPI job protocol plus `MEAS:LAMP?`."""
from __future__ import annotations

from drivers.backend import ScpiJobBackend
from drivers.litho.spec import SPEC
from drivers.vendors import scpi_vendor


class ScpiLithoBackend(ScpiJobBackend):
    def lamp_intensity(self) -> float:
        return float(self.scpi.query("MEAS:LAMP?")[0])


VENDOR = scpi_vendor("bumpline-track", SPEC, ScpiLithoBackend, __doc__ or "")
