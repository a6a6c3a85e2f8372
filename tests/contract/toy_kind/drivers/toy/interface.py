"""The spin cleaner's wire interface and hard limits, as data."""
from drivers.limits import Limit
from drivers.scpi_jobs import JOB_COMMANDS
from drivers.scpi_spec import ScpiInterface

KIND = "toy"
PHASES = ("RINSE", "SPIN")
LIMITS = {"rinse_s": Limit(1.0, 600.0, "s"), "spin_rpm": Limit(100.0, 3000.0, "rpm")}
INTERFACE = ScpiInterface(kind=KIND, commands=JOB_COMMANDS)
