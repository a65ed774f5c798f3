"""Field sync's rules with plain values: certificate number blocks and the laptop's chain."""
from __future__ import annotations

from labs.field.domain import BLOCK_SIZE, Block, Sealed, break_in, next_block


def test_blocks_follow_each_other_per_year_from_the_floor():
    first = next_block(2026, [], 900_000)
    assert first == Block(2026, 900_000, 900_000 + BLOCK_SIZE - 1)
    assert next_block(2026, [first, Block(2025, 900_000, 999_999)], 900_000).first == 900_000 + BLOCK_SIZE
    assert next_block(2027, [first], 900_000).first == 900_000


def test_no_block_past_the_last_six_digit_number():
    assert next_block(2026, [Block(2026, 900_000, 999_960)], 900_000) is None
    assert next_block(2026, [Block(2026, 900_000, 999_949)], 900_000) == Block(2026, 999_950, 999_999)


def test_a_block_holds_its_numbers_of_both_kinds_and_its_year_only():
    block = Block(2026, 900_000, 900_049)
    assert block.holds("JD2026-900000") and block.holds("TZ2026-900049")
    assert not block.holds("JD2026-900050") and not block.holds("JD2027-900001")
    assert not block.holds("JD2026-000001") and not block.holds("XX2026-900001")


def test_the_first_row_that_does_not_continue_the_chain_is_named():
    a, b, c = Sealed(1, "0" * 64, "a" * 64), Sealed(2, "a" * 64, "b" * 64), Sealed(3, "b" * 64, "c" * 64)
    assert break_in([a, b, c], "0" * 64) is None
    assert break_in([a, c], "0" * 64) == c  # b was removed
    assert break_in([b, c], "0" * 64) == b  # a was never received
    assert break_in([c], "b" * 64) is None  # continues an earlier upload
