"""Tool addresses as they appear in line configs."""
from __future__ import annotations

import re
from dataclasses import dataclass

from drivers.errors import BadValue

_VISA_SOCKET = re.compile(r"^TCPIP\d*::([^:]+)::(\d+)::SOCKET$", re.IGNORECASE)
_MODBUS = re.compile(r"^modbus-tcp://([^:/]+):(\d+)(?:/(\d+))?$", re.IGNORECASE)


@dataclass(frozen=True)
class Address:
    protocol: str  # "visa-socket" | "modbus-tcp"
    host: str
    port: int
    unit: int = 1

    def with_port(self, port: int) -> Address:
        return Address(self.protocol, self.host, port, self.unit)

    def __str__(self) -> str:
        if self.protocol == "visa-socket":
            return f"TCPIP0::{self.host}::{self.port}::SOCKET"
        return f"modbus-tcp://{self.host}:{self.port}/{self.unit}"


def parse_address(text: str) -> Address:
    """`TCPIP0::host::port::SOCKET` (SCPI raw socket) or `modbus-tcp://host:port[/unit]`."""
    if m := _VISA_SOCKET.match(text.strip()):
        return Address("visa-socket", m.group(1), int(m.group(2)))
    if m := _MODBUS.match(text.strip()):
        return Address("modbus-tcp", m.group(1), int(m.group(2)), int(m.group(3) or 1))
    raise BadValue(f"unsupported tool address {text!r}: use TCPIP0::HOST::PORT::SOCKET "
                     "or modbus-tcp://HOST:PORT[/UNIT]")
