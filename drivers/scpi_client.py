"""A typed SCPI client over a transport, driven by the interface spec."""
from __future__ import annotations

from typing import Any

from drivers.errors import CommandRejected, CommunicationLost, OutOfRange
from drivers.scpi_spec import Command, ScpiInterface, decode_values, encode_values
from drivers.transport.visa import ReplyTimeout, VisaTransport


class ScpiClient:
    def __init__(self, transport: VisaTransport, interface: ScpiInterface) -> None:
        self.transport = transport
        self.interface = interface
        self.tool_id = transport.tool_id

    def _line(self, cmd: Command, args: tuple[Any, ...]) -> str:
        if len(args) != len(cmd.params):
            raise TypeError(f"{cmd.header} takes {len(cmd.params)} arguments, got {len(args)}")
        for arg, value in zip(cmd.params, args):
            if (rule := arg.check(value)) is not None:
                raise OutOfRange(self.tool_id, f"{cmd.header} {arg.name}", value, rule)
        return cmd.header + (" " + encode_values(cmd.params, args) if args else "")

    def query(self, header: str, *args: Any) -> list[Any]:
        """Send a query and decode its fields by the spec. No reply + an error in the queue is a
        refusal (`CommandRejected`); no reply and a silent error queue is a communication problem."""
        cmd = self.interface[header]
        line = self._line(cmd, args)
        try:
            reply = self.transport.query(line, idempotent=cmd.idempotent)
        except ReplyTimeout:
            if header.upper() == "SYST:ERR?":
                raise
            try:
                errors = self.drain_errors()
            except ReplyTimeout:
                errors = []
            if errors:
                raise CommandRejected(self.tool_id, header, *errors[0]) from None
            self.transport.close()
            self.transport.reconnects += 1
            reply = self.transport.query(line, idempotent=cmd.idempotent)   # one more try on a fresh socket
        try:
            return decode_values(cmd.returns, reply)
        except ValueError as exc:
            raise CommandRejected(self.tool_id, header, -100, f"malformed reply {reply!r}: {exc}") from exc

    def command(self, header: str, *args: Any) -> None:
        """Send a command, then read the error queue: a refusal becomes `CommandRejected`."""
        cmd = self.interface[header]
        line = self._line(cmd, args)
        try:
            reply = self.transport.command(line, "SYST:ERR?", idempotent=cmd.idempotent)
        except ReplyTimeout as exc:
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
