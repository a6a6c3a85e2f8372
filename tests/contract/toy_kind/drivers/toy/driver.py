"""The spin cleaner's front end: the shared job protocol is all it needs."""
from drivers.base import ToolDriver
from drivers.toy.spec import SPEC


class ToyDriver(ToolDriver):
    spec = SPEC


DRIVER = ToyDriver
