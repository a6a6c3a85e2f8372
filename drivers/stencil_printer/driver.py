"""Stencil printer front end: the shared job protocol; results are the SPI measurements its spec declares."""
from __future__ import annotations

from drivers.base import ToolDriver
from drivers.stencil_printer.spec import SPEC


class StencilPrinterDriver(ToolDriver):
    spec = SPEC


DRIVER = StencilPrinterDriver
