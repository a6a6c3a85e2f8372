"""bumpline's reference wet bench: a PLC with the shared Modbus job block and the kind's registers."""
from drivers.vendors import plc_vendor
from drivers.wet_bench.spec import SPEC

VENDOR = plc_vendor("bumpline-wet-plc", SPEC, doc=__doc__ or "")
