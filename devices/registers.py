"""Declarative Modbus register maps: a field is declared once and read by drivers and simulators."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field as dc_field

WORD_ORDERS = ("ABCD", "CDAB")
INPUT, HOLDING = "input", "holding"
_WIDTH = {"u16": 1, "u32": 2, "f32": 2}
_CODE = {"u16": "H", "u32": "I", "f32": "f"}


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
    valid: range | None = None  # the whole values the rig accepts, where its datasheet limits them
    count: int = dc_field(init=False, repr=False, compare=False)  # registers it takes

    def __post_init__(self):
        if self.type not in (*_WIDTH, "ascii"):
            raise ValueError(f"{self.name}: type {self.type!r} is not u16, u32, f32 or ascii")
        object.__setattr__(self, "count", _WIDTH.get(self.type, self.length))

    @property
    def addresses(self) -> range:
        return range(self.address, self.address + self.count)

    def encode(self, value, word_order: str = "ABCD") -> list[int]:
        if self.type == "ascii":
            raw = str(value).encode("ascii")[: 2 * self.length].ljust(2 * self.length, b" ")
        else:
            raw = struct.pack(">" + _CODE[self.type], value if self.type == "f32" else round(value / self.scale))
        words = list(struct.unpack(f">{self.count}H", raw))
        return words[::-1] if word_order == "CDAB" and self.type != "ascii" else words

    def decode(self, registers: list[int], word_order: str = "ABCD"):
        if len(registers) != self.count:
            raise ValueError(f"{self.name} needs {self.count} registers, got {len(registers)}")
        return _Layout((self,), self.address, self.count, word_order).decode(registers)[self.name]

    def _finish(self, raw):
        if self.type == "ascii":
            return raw.decode("ascii", "replace").rstrip(" \x00")  # spaces, as the datasheet says, or NULs
        return raw * self.scale if self.scale != 1 else raw


class _Layout:
    """Unpacks the whole fields of a block of registers with one struct call (polling reads many)."""

    def __init__(self, fields, start: int, count: int, word_order: str):
        fields = sorted(fields, key=lambda f: f.address)
        self.names = [f.name for f in fields]
        self.finish = [(i, f) for i, f in enumerate(fields) if f.type == "ascii" or f.scale != 1]
        self.words = struct.Struct(f">{count}H")
        order = list(range(count))  # CDAB: the two words of each 32-bit value trade places
        layout, position = ">", start
        for f in fields:
            layout += "x" * 2 * (f.address - position) + (f"{2 * f.length}s" if f.type == "ascii" else _CODE[f.type])
            if word_order == "CDAB" and f.count == 2 and f.type != "ascii":
                at = f.address - start
                order[at], order[at + 1] = at + 1, at
            position = f.address + f.count
        self.order = None if order == sorted(order) else order
        self.struct = struct.Struct(layout + "x" * 2 * (start + count - position))

    def decode(self, registers: list[int]) -> dict:
        if self.order is not None:
            registers = [registers[i] for i in self.order]
        if not self.finish:  # the common case of a live block: numbers only
            return dict(zip(self.names, self.struct.unpack(self.words.pack(*registers))))
        values = list(self.struct.unpack(self.words.pack(*registers)))
        for i, f in self.finish:
            values[i] = f._finish(values[i])
        return dict(zip(self.names, values))


@dataclass(frozen=True)
class RegisterMap:
    """The fields of one kind of rig, by name."""

    kind: str
    fields: tuple[Field, ...]
    by_name: dict[str, Field] = dc_field(init=False, repr=False, compare=False)
    # Spans and layouts, worked out once: a poller asks for the same ones many times a second.
    _spans: dict = dc_field(init=False, repr=False, compare=False, default_factory=dict)
    _layouts: dict = dc_field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def __getitem__(self, name: str) -> Field:
        return self.by_name[name]

    def table(self, table: str) -> list[Field]:
        return [f for f in self.fields if f.table == table]

    def span(self, names: list[str]) -> tuple[str, int, int]:
        """The (table, first address, count) of one read covering the named fields."""
        key = tuple(names)
        if key not in self._spans:
            chosen = [self[n] for n in names]
            tables = {f.table for f in chosen}
            if len(tables) != 1:
                raise ValueError(f"fields {names} are not in one table")
            start = min(f.address for f in chosen)
            end = max(f.address + f.count for f in chosen)
            self._spans[key] = (tables.pop(), start, end - start)
        return self._spans[key]

    def decode_block(self, table: str, start: int, registers: list[int], word_order: str) -> dict:
        """Values of every field lying wholly inside a block read from `start`."""
        key = (table, start, len(registers), word_order)
        if key not in self._layouts:
            end = start + len(registers)
            inside = [f for f in self.table(table) if f.address >= start and f.address + f.count <= end]
            self._layouts[key] = _Layout(inside, start, len(registers), word_order)
        return self._layouts[key].decode(registers)
