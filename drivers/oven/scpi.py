"""A second oven vendor: a furnace controller that speaks SCPI (the shared job protocol; the profile
goes as one process-program body, O2 and temperatures come back as status readings). The front end
and its O2 interlock are the oven's, unchanged."""
from drivers.oven.spec import SPEC
from drivers.vendors import scpi_vendor

VENDOR = scpi_vendor("scpi-furnace", SPEC, doc=__doc__ or "")
