"""A spin cleaner whose controller speaks the SCPI job protocol."""
from drivers.toy.spec import SPEC
from drivers.vendors import scpi_vendor

VENDOR = scpi_vendor("toy-scpi", SPEC)
