"""SCPI command sets declared as data.

The simulator's server dispatches on these declarations and the driver encodes/decodes with them,
so the two sides cannot drift. A `Json` parameter or return swallows the rest of the line and must
be the last one (process-program bodies and result documents are JSON, like an S7F3 PPBODY).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any


class Json:
    """Marker type: the value travels as one JSON document at the end of the line."""


SCALARS = (int, float, str, bool, Json)


@dataclass(frozen=True)
class Arg:
    """One positional parameter or returned field, with unit and hard range."""

    name: str
    type: type = str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()

    def check(self, value: Any) -> str | None:
        """Return the broken rule, or None when the value is acceptable."""
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}"
        if self.min is not None and value < self.min:
            return f"below minimum {self.min:g} {self.unit}".rstrip()
        if self.max is not None and value > self.max:
            return f"above maximum {self.max:g} {self.unit}".rstrip()
        return None


@dataclass(frozen=True)
class Command:
    """One SCPI header: a query when it ends in '?'. `idempotent` commands may be retried blindly."""

    header: str
    handler: str
    params: tuple[Arg, ...] = ()
    returns: tuple[Arg, ...] = ()
    doc: str = ""
    idempotent: bool = False

    @property
    def is_query(self) -> bool:
        return self.header.endswith("?")

    def __post_init__(self) -> None:
        for group in (self.params, self.returns):
            for arg in group[:-1]:
                if arg.type is Json:
                    raise ValueError(f"{self.header}: a Json field must be last")


@dataclass(frozen=True)
class ScpiInterface:
    """The whole command set of one tool kind (IEEE 488.2 common commands included)."""

    kind: str
    commands: tuple[Command, ...]
    index: dict[str, Command] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        all_commands = COMMON + self.commands
        object.__setattr__(self, "commands", all_commands)
        object.__setattr__(self, "index", {c.header.upper(): c for c in all_commands})

    def get(self, header: str) -> Command | None:
        return self.index.get(header.upper())

    def __getitem__(self, header: str) -> Command:
        cmd = self.get(header)
        if cmd is None:
            raise KeyError(f"{self.kind}: no SCPI command {header!r}")
        return cmd


COMMON: tuple[Command, ...] = (
    Command("*IDN?", "idn", returns=(Arg("maker"), Arg("model"), Arg("serial"), Arg("firmware")),
            doc="Identify", idempotent=True),
    Command("*RST", "reset", doc="Reset to power-on defaults (refused while a job runs)"),
    Command("*CLS", "clear_status", doc="Clear status and error queue", idempotent=True),
    Command("*STB?", "status_byte", returns=(Arg("stb", int),), idempotent=True),
    Command("*ESR?", "event_status", returns=(Arg("esr", int),), idempotent=True),
    Command("*OPC?", "operation_complete", returns=(Arg("done", int),), idempotent=True),
    Command("SYST:ERR?", "next_error", returns=(Arg("code", int), Arg("text")), idempotent=True),
)

# IEEE 488.2 status byte bits used by every simulator.
STB_EAV = 1 << 2   # error/event queue not empty
STB_QUES = 1 << 3  # questionable status summary
STB_ESB = 1 << 5   # standard event status summary
STB_MSS = 1 << 6   # master summary
STB_OPER = 1 << 7  # operation status summary (a job is running)


# ---- wire encoding, shared by server and client ----------------------------------------------

def encode_value(arg: Arg, value: Any) -> str:
    if arg.type is Json:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if arg.type is bool:
        return "1" if value else "0"
    if arg.type is float:
        return repr(float(value))
    if arg.type is int:
        return str(int(value))
    text = str(value)
    if any(ch in text for ch in ', ";') or text == "":
        return '"' + text.replace('"', '""') + '"'
    return text


def encode_values(args: tuple[Arg, ...], values: tuple[Any, ...] | list[Any]) -> str:
    return ",".join(encode_value(a, v) for a, v in zip(args, values, strict=False))


def split_fields(text: str, args: tuple[Arg, ...]) -> list[str]:
    """Split a comma list honouring "quoted" strings; a trailing Json arg takes the rest raw."""
    fields: list[str] = []
    i, n = 0, len(text)
    for pos, arg in enumerate(args):
        if i > n:
            break
        if arg.type is Json and pos == len(args) - 1:
            fields.append(text[i:].strip())
            return fields
        while i < n and text[i] == " ":
            i += 1
        if i < n and text[i] == '"':
            j, buf = i + 1, []
            while j < n:
                if text[j] == '"':
                    if j + 1 < n and text[j + 1] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            if j >= n:
                raise ValueError("unterminated string")
            fields.append("".join(buf))
            i = j + 1
            while i < n and text[i] == " ":
                i += 1
            if i < n and text[i] != ",":
                raise ValueError("text after quoted string")
            i += 1
        else:
            j = text.find(",", i)
            j = n if j < 0 else j
            fields.append(text[i:j].strip())
            i = j + 1
    if i < n and len(fields) == len(args):
        raise ParameterCount(f"more than {len(args)} parameter(s)", too_many=True)
    return fields


MAX_JSON_CHARS = 1_000_000


class ParameterCount(ValueError):
    """Too many or too few parameters: a command error (-108 / -109), not a bad value."""

    def __init__(self, message: str, too_many: bool) -> None:
        super().__init__(message)
        self.too_many = too_many


def bounded_json(raw: str) -> Any:
    """json.loads with a size bound, and deep nesting as a ValueError rather than a RecursionError
    (a hostile peer's 30 000 nested brackets must not crash whoever decodes them)."""
    if len(raw) > MAX_JSON_CHARS:
        raise ValueError(f"JSON of {len(raw):,} characters (at most {MAX_JSON_CHARS:,})")
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def decode_value(arg: Arg, raw: str) -> Any:
    if arg.type is Json:
        return bounded_json(raw)
    if arg.type is bool:
        if raw.upper() in ("1", "ON"):
            return True
        if raw.upper() in ("0", "OFF"):
            return False
        raise ValueError(f"{raw!r} is not a boolean")
    if arg.type is int:
        return int(raw)
    if arg.type is float:
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(f"{raw!r} is not a finite number")
        return value
    return raw


def decode_values(args: tuple[Arg, ...], text: str) -> list[Any]:
    if not args:
        return []
    fields = split_fields(text, args)
    if len(fields) != len(args):
        raise ParameterCount(f"expected {len(args)} fields, got {len(fields)}", too_many=len(fields) > len(args))
    return [decode_value(a, f) for a, f in zip(args, fields, strict=False)]
