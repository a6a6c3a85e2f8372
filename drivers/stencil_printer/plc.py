"""bumpline's reference stencil printer: a PLC with the shared Modbus job block and the kind's registers."""
from drivers.stencil_printer.spec import SPEC
from drivers.vendors import plc_vendor

VENDOR = plc_vendor("bumpline-printer-plc", SPEC, doc=__doc__ or "")
