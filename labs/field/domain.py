"""The rules of field sync as plain values: which certificate numbers a block holds, where the next
block goes, and whether uploaded rows continue the laptop's chain."""
from __future__ import annotations

import re
from dataclasses import dataclass

BLOCK_SIZE = 50  # certificate numbers a laptop holds at a time: weeks on site without a network
LAST_NUMBER = 999_999  # six digits after the year
NUMBER = re.compile(r"^(JD|TZ)([0-9]{4})-([0-9]{6})$")


@dataclass(frozen=True)
class Block:
    year: int
    first: int
    last: int

    def holds(self, number: str) -> bool:
        parsed = NUMBER.fullmatch(number)
        return (parsed is not None and int(parsed[2]) == self.year
                and self.first <= int(parsed[3]) <= self.last)


def next_block(year: int, taken: list[Block], floor: int, size: int = BLOCK_SIZE) -> Block | None:
    """The block after every block taken that year, from `floor` up; None when the year's numbers
    are used up."""
    first = max([b.last + 1 for b in taken if b.year == year] + [floor])
    if first + size - 1 > LAST_NUMBER:
        return None
    return Block(year, first, first + size - 1)


@dataclass(frozen=True)
class Sealed:
    """One chained row as the laptop sealed it."""

    local_id: int
    prev_hash: str
    hash: str


def break_in(rows: list[Sealed], tail: str) -> Sealed | None:
    """The first row that does not continue the chain whose last received hash is `tail` (rows in
    the laptop's order), or None when they all do: a row the laptop deleted or changed before the
    upload leaves a hole here."""
    for row in rows:
        if row.prev_hash != tail:
            return row
        tail = row.hash
    return None
