"""The draw as specs/spotcheck.md fixes it, checked with plain values and hashlib/hmac written out
here, not with the module's own helpers."""
from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from labs.spotchecks.domain import (DrawRefused, Inspector, commitment, draw_entities, draw_inspectors,
                                    draw_instruments, how_many, rerun_inspectors, seed_from_reveals, snapshot_hash)

CODES = [f"913201{n:06d}MA1X{n % 10}" for n in range(40)]


def _digest(seed: str, message: str) -> bytes:
    return hmac.new(seed.encode(), message.encode(), hashlib.sha256).digest()


def test_the_seed_is_the_sha256_of_the_reveals_in_witness_order():
    secrets = ["纪检监察室 2026 第四轮", "observer: 4f2a9c"]
    commitments = [hashlib.sha256(s.encode()).hexdigest() for s in secrets]
    assert [commitment(s) for s in secrets] == commitments
    assert seed_from_reveals(commitments, secrets) == hashlib.sha256("\n".join(secrets).encode()).hexdigest()


def test_a_reveal_that_does_not_match_its_commitment_stops_the_draw():
    commitments = [hashlib.sha256(b"alpha").hexdigest(), hashlib.sha256(b"beta").hexdigest()]
    with pytest.raises(DrawRefused, match="witness 2"):
        seed_from_reveals(commitments, ["alpha", "gamma"])
    with pytest.raises(DrawRefused, match="2 witnesses committed but 1"):
        seed_from_reveals(commitments, ["alpha"])


def test_the_snapshot_hash_is_of_the_sorted_codes_joined_by_newlines_and_changes_with_the_registry():
    expected = hashlib.sha256("\n".join(sorted(CODES)).encode()).hexdigest()
    assert snapshot_hash(list(reversed(CODES))) == expected
    assert snapshot_hash(CODES[:-1]) != expected


def test_entities_are_the_first_k_by_hmac_digest_per_risk_level():
    seed = "a" * 64
    by_risk = {"high": CODES[:10], "low": CODES[10:]}
    drawn = draw_entities(seed, by_risk, {"high": Decimal("0.3"), "low": Decimal("0.03")})
    assert drawn["high"] == sorted(CODES[:10], key=lambda c: _digest(seed, c))[:3]
    assert drawn["low"] == sorted(CODES[10:], key=lambda c: _digest(seed, c))[:1]  # at least one
    assert draw_entities(seed, by_risk, {"high": Decimal("0.3"), "low": Decimal("0.03")}) == drawn


@pytest.mark.parametrize("share, n, k", [("0.03", 10, 1), ("0.05", 100, 5), ("0.05", 101, 6), ("1", 7, 7),
                                         ("0.5", 0, 0)])
def test_how_many_is_the_share_rounded_up_at_least_one(share, n, k):
    assert how_many(Decimal(share), n) == k


def test_instruments_and_inspectors_are_ranked_by_the_messages_the_spec_names():
    seed = "b" * 64
    serials = ["JYJ-3", "JYJ-1", "JYJ-2"]
    assert draw_instruments(seed, CODES[0], serials, 2) == [
        s for s in sorted(serials, key=lambda s: _digest(seed, f"{CODES[0]}/{s}"))][:2]
    inspectors = [Inspector(i, "district A") for i in range(1, 7)]
    chosen = draw_inspectors(seed, CODES[0], inspectors, 2).chosen
    assert chosen == sorted(range(1, 7), key=lambda i: _digest(seed, f"{CODES[0]}#{i}"))[:2]


def test_no_recused_inspector_is_drawn_and_each_skip_says_why():
    code = CODES[0]
    inspectors = [Inspector(1, "district A", conflicts=frozenset({code})), Inspector(2, "station group"),
                  Inspector(3, "district B", last_round=frozenset({code})), Inspector(4, "district C"),
                  Inspector(5, "district D")]
    for n in range(200):
        result = draw_inspectors(f"seed-{n}", code, inspectors, 2, entity_affiliation="station group")
        assert set(result.chosen) <= {4, 5}
        reasons = dict(result.skipped)
        assert {1: "declared conflict", 2: "same affiliation", 3: "checked the same entity last round"}.items() \
            >= reasons.items()
    with pytest.raises(DrawRefused, match="only 2 of the 3"):
        draw_inspectors("seed", code, inspectors, 3, entity_affiliation="station group")


def test_each_entity_is_equally_likely_to_be_drawn():
    """Chi-square over 4000 seeds, 20 entities, 5 drawn each time: each is expected 1000 times.
    The critical value for 19 degrees of freedom at p = 0.001 is 43.82."""
    codes, rounds, k = CODES[:20], 4000, 5
    counts = dict.fromkeys(codes, 0)
    for n in range(rounds):
        for code in draw_entities(f"seed-{n}", {"high": codes}, {"high": Decimal(k) / 20})["high"]:
            counts[code] += 1
    expected = rounds * k / len(codes)
    chi_square = sum((observed - expected) ** 2 / expected for observed in counts.values())
    assert chi_square < 43.82, counts


@given(st.lists(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=18, max_size=18), min_size=1,
                max_size=30, unique=True), st.text(min_size=1, max_size=20))
def test_the_draw_depends_on_the_seed_and_scope_only_not_their_order(codes, secret):
    seed = hashlib.sha256(secret.encode()).hexdigest()
    shares = {"high": Decimal("0.5")}
    assert draw_entities(seed, {"high": codes}, shares) == draw_entities(seed, {"high": list(reversed(codes))}, shares)


@given(st.integers(min_value=1, max_value=2000), st.integers(min_value=1, max_value=60), st.text(max_size=10))
def test_a_small_share_of_a_large_scope_is_the_same_as_sorting_everything(n, k, secret):
    """Few of many are picked without a full sort: the result must be the full sort's prefix."""
    seed = hashlib.sha256(secret.encode()).hexdigest()
    codes = [f"91320100{i:09d}X" for i in range(n)]
    drawn = draw_entities(seed, {"low": codes}, {"low": Decimal(k) / Decimal(n)})["low"]
    assert drawn == sorted(codes, key=lambda c: _digest(seed, c))[:how_many(Decimal(k) / Decimal(n), n)]


def test_a_published_task_is_re_run_from_the_pool_and_its_skips_and_a_skip_out_of_order_fails():
    seed, code = "c" * 64, CODES[3]
    pool = [7, 12, 105, 3000, 41]  # ids of several digits: the message is '<code>#<id>' in decimal
    walk = sorted(pool, key=lambda i: _digest(seed, f"{code}#{i}"))
    inspectors = [Inspector(i, "district", conflicts=frozenset({code}) if i == walk[0] else frozenset())
                  for i in pool]
    result = draw_inspectors(seed, code, inspectors, 2)
    assert result.chosen == walk[1:3] and result.skipped == [(walk[0], "declared conflict")]
    assert rerun_inspectors(seed, code, pool, [walk[0]], 2) == walk[1:3]
    assert rerun_inspectors(seed, code, pool, [], 2) == walk[:2] != result.chosen
    # a skip that the walk could not have reached (after the last one chosen) is not a re-run
    assert rerun_inspectors(seed, code, pool, [walk[0], walk[4]], 2) == []
