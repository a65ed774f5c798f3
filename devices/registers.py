"""Declarative Modbus register maps: a field is declared once and read by drivers and simulators."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field as dc_field

WORD_ORDERS = ("ABCD", "CDAB")
INPUT, HOLDING = "input", "holding"
_WIDTH = {"u16": 1, "u32": 2, "f32": 2}


@dataclass(frozen=True)
class Field:
    """One value in a rig's register map."""

    name: str
    address: int
    type: str  # u16, u32, f32 or ascii
    table: str  # input (function 04) or holding (03, 06, 16)
    unit: str = ""
    access: str = "r"  # r or rw
    length: int = 0  # registers, for ascii only
    scale: float = 1  # value = raw * scale (e.g. firmware 103 -> 1.03)

    @property
    def count(self) -> int:
        return _WIDTH.get(self.type, self.length)

    @property
    def addresses(self) -> range:
        return range(self.address, self.address + self.count)

    def encode(self, value, word_order: str = "ABCD") -> list[int]:
        if self.type == "ascii":
            raw = str(value).encode("ascii")[: 2 * self.length].ljust(2 * self.length, b" ")
            return list(struct.unpack(f">{self.length}H", raw))
        if self.type == "u16":
            return [round(value / self.scale) & 0xFFFF]
        raw = struct.pack(">f", value) if self.type == "f32" else struct.pack(">I", round(value / self.scale))
        words = list(struct.unpack(">2H", raw))
        return words[::-1] if word_order == "CDAB" else words

    def decode(self, registers: list[int], word_order: str = "ABCD"):
        if len(registers) != self.count:
            raise ValueError(f"{self.name} needs {self.count} registers, got {len(registers)}")
        if self.type == "ascii":
            return struct.pack(f">{self.length}H", *registers).decode("ascii", "replace").rstrip(" ")
        if self.type == "u16":
            return registers[0] * self.scale if self.scale != 1 else registers[0]
        words = registers[::-1] if word_order == "CDAB" else registers
        raw = struct.pack(">2H", *words)
        if self.type == "f32":
            return struct.unpack(">f", raw)[0]
        value = struct.unpack(">I", raw)[0]
        return value * self.scale if self.scale != 1 else value


@dataclass(frozen=True)
class RegisterMap:
    """The fields of one kind of rig, by name."""

    kind: str
    fields: tuple[Field, ...]
    by_name: dict[str, Field] = dc_field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def __getitem__(self, name: str) -> Field:
        return self.by_name[name]

    def table(self, table: str) -> list[Field]:
        return [f for f in self.fields if f.table == table]

    def span(self, names: list[str]) -> tuple[str, int, int]:
        """The (table, first address, count) of one read covering the named fields."""
        chosen = [self[n] for n in names]
        tables = {f.table for f in chosen}
        if len(tables) != 1:
            raise ValueError(f"fields {names} are not in one table")
        start = min(f.address for f in chosen)
        end = max(f.address + f.count for f in chosen)
        return tables.pop(), start, end - start

    def decode_block(self, table: str, start: int, registers: list[int], word_order: str) -> dict:
        """Values of every field lying wholly inside a block read from `start`."""
        end = start + len(registers)
        return {
            f.name: f.decode(registers[f.address - start : f.address - start + f.count], word_order)
            for f in self.table(table)
            if f.address >= start and f.address + f.count <= end
        }
