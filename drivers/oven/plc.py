"""bumpline's reference batch oven: a PLC with the shared Modbus job block and the kind's registers."""
from drivers.oven.spec import SPEC
from drivers.vendors import plc_vendor

VENDOR = plc_vendor("bumpline-oven-plc", SPEC, doc=__doc__ or "")
