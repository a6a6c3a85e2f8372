"""Modbus register maps declared as data, with the codec both sides use.

Every register is a holding register (function codes 3, 6, 16). A register's `name` is also its
path in a recipe body (`segments[2].target_c`, `segments#` for a list's length), so a recipe model
round-trips through the PLC's setpoint block: the driver encodes, the simulator decodes and
validates with the same model, and both hash the same raw block.
"""
from __future__ import annotations

import hashlib
import math
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

FORMATS = {"u16": (">H", 1), "i16": (">h", 1), "u32": (">I", 2), "i32": (">i", 2), "f32": (">f", 2),
           "bool": (">H", 1), "enum": (">H", 1)}


@dataclass(frozen=True)
class Reg:
    name: str
    address: int
    type: str = "u16"      # u16 i16 u32 i32 f32 bool enum str
    length: int = 1        # registers, for str (two characters per register)
    unit: str = ""
    writable: bool = False
    choices: tuple[str, ...] = ()  # enum: the register holds the index
    doc: str = ""

    @property
    def size(self) -> int:
        return self.length if self.type == "str" else FORMATS[self.type][1]

    def encode(self, value: Any) -> list[int]:
        if self.type == "str":
            raw = str(value).encode("ascii", "replace")[: self.length * 2].ljust(self.length * 2, b"\0")
            return list(struct.unpack(f">{self.length}H", raw))
        if self.type == "enum":
            value = self.choices.index(value) if value in self.choices else 0xFFFF
        if self.type == "f32" and value is None:
            value = math.nan
        fmt, n = FORMATS[self.type]
        return list(struct.unpack(f">{n}H", struct.pack(fmt, int(value) if self.type not in ("f32",) else float(value))))

    def decode(self, regs: list[int]) -> Any:
        raw = struct.pack(f">{len(regs)}H", *regs)
        if self.type == "str":
            return raw.rstrip(b"\0").decode("ascii", "replace")
        value = struct.unpack(FORMATS[self.type][0], raw)[0]
        if self.type == "bool":
            return bool(value)
        if self.type == "enum":
            return self.choices[value] if value < len(self.choices) else f"?{value}"
        if self.type == "f32":
            return None if math.isnan(value) else float(f"{value:.7g}")
        return value


@dataclass(frozen=True)
class RegisterMap:
    kind: str
    regs: tuple[Reg, ...]
    recipe_block: tuple[int, int] = (2000, 200)  # (start, count): the setpoints a recipe writes
    index: dict[str, Reg] = field(init=False, repr=False, compare=False)
    by_address: dict[int, Reg] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Reg] = {}
        by_addr: dict[int, Reg] = {}
        for r in self.regs:
            if r.name in index:
                raise ValueError(f"{self.kind}: register {r.name} declared twice")
            for a in range(r.address, r.address + r.size):
                if a in by_addr:
                    raise ValueError(f"{self.kind}: {r.name} overlaps {by_addr[a].name} at {a}")
                by_addr[a] = r
            index[r.name] = r
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "by_address", by_addr)

    def __getitem__(self, name: str) -> Reg:
        return self.index[name]

    def writable(self, address: int) -> bool:
        """Declared writable, or anywhere in the recipe block (written whole, spares as zero)."""
        start, count = self.recipe_block
        if start <= address < start + count:
            return True
        reg = self.by_address.get(address)
        return reg is not None and reg.writable

    def recipe_regs(self) -> list[Reg]:
        start, count = self.recipe_block
        return [r for r in self.regs if start <= r.address < start + count]

    def decode_span(self, regs: list[int], start: int, names: Iterable[str]) -> dict[str, Any]:
        out = {}
        for name in names:
            r = self.index[name]
            out[name] = r.decode(regs[r.address - start: r.address - start + r.size])
        return out


def span(regs: Iterable[Reg]) -> tuple[int, int]:
    regs = list(regs)
    start = min(r.address for r in regs)
    return start, max(r.address + r.size for r in regs) - start


def block_hash(values: list[int]) -> str:
    """SHA-256 of a register block as big-endian bytes: what the PLC reports as the recipe checksum."""
    return hashlib.sha256(struct.pack(f">{len(values)}H", *values)).hexdigest()


# ---- recipe bodies <-> flat register paths ------------------------------------------------

def flatten(body: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(body, dict):
        for k, v in body.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else k))
    elif isinstance(body, list):
        out[f"{prefix}#"] = len(body)
        for i, v in enumerate(body):
            out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = body
    return out


_PART = re.compile(r"([^.\[\]#]+)(?:\[(\d+)\])?")


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """Inverse of `flatten`: lists get their `#` length (shallow ones first); values past a list's
    length are unused registers and are dropped."""
    lengths = {k[:-1]: v for k, v in flat.items() if k.endswith("#")}
    body: dict[str, Any] = {}
    for prefix in sorted(lengths, key=lambda p: p.count(".") + p.count("[")):
        _put(body, prefix, [{} for _ in range(lengths[prefix])], lengths)
    for path, value in flat.items():
        if not path.endswith("#"):
            _put(body, path, value, lengths)
    return body


def _put(body: dict[str, Any], path: str, value: Any, lengths: dict[str, int]) -> None:
    node: Any = body
    prefix = ""
    parts = path.split(".")
    for depth, part in enumerate(parts):
        match = _PART.fullmatch(part)
        if match is None:
            raise KeyError(f"{path}: {part!r} is not a field name")
        key, idx = match.groups()
        prefix = f"{prefix}.{key}" if prefix else key
        last = depth == len(parts) - 1
        if idx is None:
            if last:
                node[key] = value
                return
            node = node.setdefault(key, {})
            continue
        i = int(idx)
        if i >= lengths.get(prefix, 0) or key not in node:
            return
        prefix = f"{prefix}[{i}]"
        if last:
            node[key][i] = value
            return
        node = node[key][i]


def encode_recipe(regmap: RegisterMap, body: dict[str, Any]) -> list[int]:
    """The whole setpoint block for a recipe body (unused registers zero)."""
    start, count = regmap.recipe_block
    block = [0] * count
    flat = flatten(body)
    names = {r.name for r in regmap.recipe_regs()}
    unknown = sorted(k for k in flat if k not in names)
    if unknown:
        raise ValueError(f"{regmap.kind}: no setpoint register for {', '.join(unknown)}")
    for r in regmap.recipe_regs():
        if r.name in flat:
            block[r.address - start: r.address - start + r.size] = r.encode(flat[r.name])
    return block


def decode_recipe(regmap: RegisterMap, block: list[int]) -> dict[str, Any]:
    start, _ = regmap.recipe_block
    flat = {r.name: r.decode(block[r.address - start: r.address - start + r.size]) for r in regmap.recipe_regs()}
    return unflatten(flat)


def repeated(prefix: str, count: int, base: int, fields: list[tuple[str, str, str]]) -> tuple[Reg, ...]:
    """Registers for a list of records: `prefix#` then `prefix[i].field` (f32 unless typed)."""
    regs = [Reg(f"{prefix}#", base, "u16", writable=True, doc=f"number of {prefix}")]
    addr = base + 1
    for i in range(count):
        for name, typ, unit in fields:
            r = Reg(f"{prefix}[{i}].{name}", addr, typ, unit=unit, writable=True)
            regs.append(r)
            addr += r.size
    return tuple(regs)
