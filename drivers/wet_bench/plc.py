"""bumpline's reference wet bench: a PLC with the shared Modbus job block and the kind's registers."""
from drivers.wet_bench.spec import SPEC
from drivers.vendors import plc_vendor

VENDOR = plc_vendor("bumpline-wet-plc", SPEC, doc=__doc__ or "")
