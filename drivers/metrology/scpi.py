"""bumpline's reference metrology tool: the shared SCPI job protocol."""
from drivers.metrology.spec import SPEC
from drivers.vendors import scpi_vendor

VENDOR = scpi_vendor("bumpline-metrology", SPEC, doc=__doc__ or "")
