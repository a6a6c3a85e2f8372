"""SCPI over a raw TCP socket through pyvisa with the pyvisa-py backend.

Transient transport errors are retried with reconnects, but only for commands the interface
declares idempotent; a lost non-idempotent write raises `CommunicationLost` so the caller can ask
the tool what actually happened instead of sending it twice.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pyvisa
from pyvisa import constants
from pyvisa import errors as visa_errors

from drivers.errors import CommunicationLost
from drivers.transport.nodelay import set_nodelay

_rm: pyvisa.ResourceManager | None = None
_rm_lock = threading.Lock()
TRANSIENT = (visa_errors.VisaIOError, OSError, ConnectionError, EOFError, visa_errors.InvalidSession)


def resource_manager() -> pyvisa.ResourceManager:
    """One pyvisa-py resource manager per process (opening one costs tens of milliseconds)."""
    global _rm
    with _rm_lock:
        if _rm is None:
            _rm = pyvisa.ResourceManager("@py")
        return _rm


def _open_resource(address: str, timeout_ms: int):  # noqa: ANN202 - a pyvisa MessageBasedResource
    """Open through the shared manager; one that someone closed (pyvisa shares it process-wide) is
    replaced once instead of failing every SCPI driver of the process for good."""
    global _rm
    try:
        return resource_manager().open_resource(address, timeout=timeout_ms)
    except visa_errors.InvalidSession:
        with _rm_lock:
            _rm = None
        return resource_manager().open_resource(address, timeout=timeout_ms)


class ReplyTimeout(CommunicationLost):
    """No reply within the timeout on a connection that is still open: the instrument may have
    refused the query (SCPI sends no reply then), or it may hang — the caller asks SYST:ERR?."""


class VisaTransport:
    def __init__(self, tool_id: str, address: str, timeout_s: float = 3.0,
                 reconnect_attempts: int = 6, reconnect_delay_s: float = 0.25) -> None:
        self.tool_id = tool_id
        self.address = address
        self.timeout_s = timeout_s
        self.reconnect_attempts = reconnect_attempts
        self.reconnect_delay_s = reconnect_delay_s
        self.reconnects = 0
        self._res: Any = None    # a pyvisa resource (untyped)
        self._lock = threading.RLock()

    @property
    def is_open(self) -> bool:
        return self._res is not None

    def open(self) -> None:
        """Connect, unless connected; a connection the tool has closed (a drop between two calls) is
        replaced first — pyvisa-py would read a closed socket as silence and wait out the timeout."""
        with self._lock:
            if self._res is not None:
                if not self.peer_closed():
                    return
                self.close()
                self.reconnects += 1
            try:
                res = _open_resource(self.address, int(self.timeout_s * 1000))
                res.read_termination = "\n"
                res.write_termination = "\n"
                set_nodelay(self.socket_of(res))
                self._res = res
            except TRANSIENT as exc:
                raise CommunicationLost(self.tool_id, f"cannot connect to {self.address}: {exc}") from exc

    @staticmethod
    def socket_of(res) -> socket.socket | None:  # noqa: ANN001 - a pyvisa MessageBasedResource
        """The TCP socket under a pyvisa-py raw-socket session (None for other session types)."""
        session = res.visalib.sessions.get(res.session)
        sock = getattr(session, "interface", None)
        return sock if isinstance(sock, socket.socket) else None

    def peer_closed(self) -> bool:
        """The tool has closed (or reset) this connection: a peek finds end-of-stream or an error."""
        sock = self.socket_of(self._res) if self._res is not None else None
        if sock is None:
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    def close(self) -> None:
        with self._lock:
            res, self._res = self._res, None
            if res is not None:
                try:
                    res.close()
                except Exception:  # noqa: BLE001 - a dead socket may fail to close; it is gone either way
                    pass

    def query(self, line: str, idempotent: bool = True) -> str:
        return self._exchange(line, idempotent, expect_reply=True)

    def write(self, line: str, idempotent: bool = False) -> None:
        self._exchange(line, idempotent, expect_reply=False)

    def command(self, line: str, error_query: str, idempotent: bool = False) -> str:
        """Send a command and the error query in one write; the error query's reply. One segment
        instead of two, and the error is read on the connection that sent the command: the queue is
        per session, so asking again on a new socket would read an empty queue and call a command
        whose outcome is unknown a success. No answer in time poisons the session (closed: a late
        answer must never be read as the reply to a later query)."""
        try:
            return self._exchange(f"{line}\n{error_query}", idempotent, expect_reply=True)
        except ReplyTimeout:
            self.close()
            raise

    def read_line(self) -> str:
        """One more reply line on this session (a late answer's follow-up); ReplyTimeout if none."""
        with self._lock:
            if self._res is None:
                raise CommunicationLost(self.tool_id, "no open session to read from")
            try:
                return self._res.read().strip()
            except visa_errors.VisaIOError as exc:
                raise ReplyTimeout(self.tool_id, f"no reply in {self.timeout_s:g} s") from exc
            except TRANSIENT as exc:
                self.close()
                raise CommunicationLost(self.tool_id, f"read from {self.address} failed: {exc}") from exc

    def _exchange(self, line: str, idempotent: bool, expect_reply: bool) -> str:
        attempts = self.reconnect_attempts if idempotent else 0
        last: Exception | None = None
        for attempt in range(attempts + 1):
            with self._lock:
                try:
                    self.open()
                    if expect_reply:
                        reply = self._res.query(line)
                        return reply.strip()
                    self._res.write(line)
                    return ""
                except CommunicationLost as exc:
                    last = exc
                except visa_errors.VisaIOError as exc:
                    timed_out = exc.error_code == constants.StatusCode.error_timeout
                    if expect_reply and timed_out and not self.peer_closed():
                        raise ReplyTimeout(self.tool_id, f"{line.split()[0]}: no reply in {self.timeout_s:g} s") from exc
                    last = exc                  # the tool closed the connection: a drop, not silence
                    self.close()
                except TRANSIENT as exc:
                    last = exc
                    self.close()
            if attempt < attempts:
                self.reconnects += 1
                time.sleep(self.reconnect_delay_s * (attempt + 1))
        what = "outcome unknown; ask the tool" if not idempotent else f"after {attempts + 1} attempts"
        raise CommunicationLost(self.tool_id, f"{line.split()[0]} to {self.address} failed ({what}): {last}") from last
