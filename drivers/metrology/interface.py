"""Metrology (film thickness, bump height, paste volume at N sites), SCPI."""
from __future__ import annotations

from drivers.limits import Limit
from drivers.scpi_jobs import JOB_COMMANDS
from drivers.scpi_spec import ScpiInterface

KIND = "metrology"
PHASES = ("ALIGN", "MEASURE")
MEASUREMENTS = ("film_thickness", "bump_height", "paste_volume", "resist_residue")

LIMITS: dict[str, Limit] = {"sites": Limit(1, 49, "sites")}

INTERFACE = ScpiInterface(kind=KIND, commands=JOB_COMMANDS)
