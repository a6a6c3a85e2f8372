"""A typed SCPI client over a transport, driven by the interface spec."""
from __future__ import annotations

import re
from typing import Any

from drivers.errors import CommandRejected, CommunicationLost, OutOfRange
from drivers.scpi_spec import Command, ScpiInterface, decode_values, encode_values
from drivers.transport.visa import ReplyTimeout, VisaTransport

# An error-queue reply: a code and a quoted text (`0,"No error"`, `-113,"Undefined header"`).
ERROR_REPLY = re.compile(r'^[+-]?\d+,".*"$')


class ScpiClient:
    def __init__(self, transport: VisaTransport, interface: ScpiInterface) -> None:
        self.transport = transport
        self.interface = interface
        self.tool_id = transport.tool_id

    def _line(self, cmd: Command, args: tuple[Any, ...]) -> str:
        if len(args) != len(cmd.params):
            raise TypeError(f"{cmd.header} takes {len(cmd.params)} arguments, got {len(args)}")
        for arg, value in zip(cmd.params, args, strict=False):
            if (rule := arg.check(value)) is not None:
                raise OutOfRange(self.tool_id, f"{cmd.header} {arg.name}", value, rule)
        return cmd.header + (" " + encode_values(cmd.params, args) if args else "")

    def query(self, header: str, *args: Any) -> list[Any]:
        """Send a query and decode its fields by the spec. No reply in time is either a refusal (SCPI
        sends no reply and queues an error: `CommandRejected`), a late answer (read, and the session
        kept in step), or a tool that does not answer (`ReplyTimeout`, the session closed so a late
        answer can never be read as the reply to a later query)."""
        cmd = self.interface[header]
        line = self._line(cmd, args)
        try:
            reply = self.transport.query(line, idempotent=cmd.idempotent)
        except ReplyTimeout:
            if header.upper() == "SYST:ERR?":
                self.transport.close()
                raise
            reply = self._after_silence(header, cmd, line)
        try:
            return decode_values(cmd.returns, reply)
        except ValueError as exc:
            raise CommandRejected(self.tool_id, header, -100, f"malformed reply {reply!r}: {exc}") from exc

    def _after_silence(self, header: str, cmd: Command, line: str) -> str:
        """A query got no reply in time: ask the error queue on the same session. What comes back
        first is the queue's answer (a refusal, or none), or the query's own late answer followed by
        the queue's. A session that stays silent is closed and the query tried once on a new one."""
        try:
            first = self.transport.query("SYST:ERR?")
            if not ERROR_REPLY.match(first):          # the late answer; the queue's reply follows it
                self.transport.read_line()
                return first
            code, text = decode_values(self.interface["SYST:ERR?"].returns, first)
            if code != 0:
                raise CommandRejected(self.tool_id, header, code, text)
        except ReplyTimeout:
            pass
        self.transport.close()                         # silent, or it lost the query: start afresh once
        self.transport.reconnects += 1
        try:
            return self.transport.query(line, idempotent=cmd.idempotent)
        except ReplyTimeout:
            self.transport.close()
            raise

    def command(self, header: str, *args: Any) -> None:
        """Send a command, then read the error queue: a refusal becomes `CommandRejected`."""
        cmd = self.interface[header]
        line = self._line(cmd, args)
        try:
            reply = self.transport.command(line, "SYST:ERR?", idempotent=cmd.idempotent)
        except ReplyTimeout as exc:       # the transport closed the session: a late answer is never read
            raise CommunicationLost(self.tool_id, f"{header}: no answer to SYST:ERR? ({exc.message}); "
                                                  "outcome unknown, ask the tool") from exc
        try:
            code, text = decode_values(self.interface["SYST:ERR?"].returns, reply)
        except ValueError as exc:
            raise CommandRejected(self.tool_id, header, -100, f"malformed reply {reply!r}: {exc}") from exc
        if code != 0:
            raise CommandRejected(self.tool_id, header, code, text)

    def drain_errors(self) -> list[tuple[int, str]]:
        errors = []
        for _ in range(32):
            code, text = self.query("SYST:ERR?")
            if code == 0:
                break
            errors.append((code, text))
        return errors
