"""Modbus TCP through pymodbus (pinned 3.11.x: `device_id=` keyword, sync client).

Reads are chunked to the protocol's 125-register limit and retried with reconnects; writes too,
because the job protocol's sequence numbers make a repeated command harmless.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

from drivers.errors import CommandRejected, CommunicationLost
from drivers.transport.nodelay import set_nodelay

MAX_READ, MAX_WRITE = 125, 120


class ModbusTransport:
    def __init__(self, tool_id: str, host: str, port: int, unit: int = 1, timeout_s: float = 3.0,
                 reconnect_attempts: int = 6, reconnect_delay_s: float = 0.25) -> None:
        self.tool_id, self.host, self.port, self.unit = tool_id, host, port, unit
        self.timeout_s = timeout_s
        self.reconnect_attempts = reconnect_attempts
        self.reconnect_delay_s = reconnect_delay_s
        self.reconnects = 0
        self._client: ModbusTcpClient | None = None
        self._lock = threading.RLock()

    def open(self) -> None:
        with self._lock:
            if self._client is not None and self._client.connected:
                return
            client = ModbusTcpClient(self.host, port=self.port, timeout=self.timeout_s, retries=0)
            if not client.connect():
                client.close()
                raise CommunicationLost(self.tool_id, f"cannot connect to modbus-tcp://{self.host}:{self.port}")
            set_nodelay(client.socket)
            self._client = client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            if client is not None:
                client.close()

    def read(self, address: int, count: int) -> list[int]:
        out: list[int] = []
        for offset in range(0, count, MAX_READ):
            n = min(MAX_READ, count - offset)
            out += self._call(lambda c, a=address + offset, n=n: c.read_holding_registers(a, count=n, device_id=self.unit),  # type: ignore[misc]  # mypy cannot type a lambda's bound defaults
                              f"read {address + offset}+{n}").registers
        return out

    def write(self, address: int, values: list[int]) -> None:
        for offset in range(0, len(values), MAX_WRITE):
            chunk = values[offset: offset + MAX_WRITE]
            self._call(lambda c, a=address + offset, v=chunk: c.write_registers(a, v, device_id=self.unit),  # type: ignore[misc]  # as above
                       f"write {address + offset}+{len(chunk)}")

    def _call(self, fn: Callable[[Any], Any], what: str) -> Any:
        last: Exception | None = None
        for attempt in range(self.reconnect_attempts + 1):
            with self._lock:
                try:
                    self.open()
                    reply = fn(self._client)
                    if reply.isError():
                        code = getattr(reply, "exception_code", -1)
                        raise CommandRejected(self.tool_id, what, code, f"Modbus exception {code}")
                    return reply
                except CommandRejected:
                    raise
                except (ModbusException, OSError, CommunicationLost, AttributeError) as exc:
                    last = exc
                    self.close()
            if attempt < self.reconnect_attempts:
                self.reconnects += 1
                time.sleep(self.reconnect_delay_s * (attempt + 1))
        raise CommunicationLost(self.tool_id, f"{what} failed after {self.reconnect_attempts + 1} attempts: {last}")
