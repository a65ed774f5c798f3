"""The draw of a spot-check plan, as specs/spotcheck.md fixes it: witnesses' commitments, the
frozen scope, the seed from the revealed secrets, and HMAC-SHA256 ordering. Plain Python with the
standard library only, so anyone can re-run a published draw with the same few lines.
"""
from __future__ import annotations

import functools
import hashlib
import heapq
import hmac
import math
from dataclasses import dataclass, field
from decimal import Decimal

from labs.i18n import N_

ALGORITHM = "labs-spotcheck-draw"
ALGORITHM_VERSION = "1"
RULES = (
    "snapshot_sha256 = SHA-256 hex of the sorted credit codes in scope joined by '\\n' (no trailing newline); "
    "seed = SHA-256 hex of the witnesses' revealed secrets (UTF-8) joined by '\\n' in the published witness order; "
    "rank(message) = HMAC-SHA256(key = seed as UTF-8 bytes, message as UTF-8 bytes), ascending by the 32-byte "
    "digest; entities: each risk level's sorted credit codes ordered by rank(credit_code), the first "
    "k = max(1, ceil(share × n)) taken; instruments at an entity: rank('<credit_code>/<serial>'), the first m; "
    "inspectors for a task: the plan's pool of qualified inspectors ordered by rank('<credit_code>#<inspector id>'), "
    "skipping the recused (published per task with the reason), the first p")


class DrawRefused(ValueError):
    """A step of the draw that may not happen (a reveal that does not match, a frozen scope, ...)."""


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def commitment(secret: str) -> str:
    """What a witness publishes before the draw: the SHA-256 of the secret."""
    return sha256_hex(secret)


def snapshot_hash(credit_codes: list[str]) -> str:
    return sha256_hex("\n".join(sorted(credit_codes)))


def seed_from_reveals(commitments: list[str], secrets: list[str]) -> str:
    """The seed, once every revealed secret matches its commitment (in the published order)."""
    if len(secrets) != len(commitments):
        raise DrawRefused(f"{len(commitments)} witnesses committed but {len(secrets)} secrets were revealed")
    for position, (committed, secret) in enumerate(zip(commitments, secrets), start=1):
        if not hmac.compare_digest(commitment(secret), committed):
            raise DrawRefused(f"witness {position}'s secret does not match the commitment {committed}: the draw stops")
    return sha256_hex("\n".join(secrets))


_BLOCK = 64  # SHA-256's block size in bytes
_IPAD, _OPAD = bytes(b ^ 0x36 for b in range(256)), bytes(b ^ 0x5C for b in range(256))


def rank(seed: str, message: str) -> bytes:
    return hmac.new(seed.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()


@functools.lru_cache(maxsize=8)
def _keyed(seed: str) -> tuple:
    """The key's inner and outer SHA-256 states of HMAC-SHA256 (RFC 2104), made once per seed."""
    key = seed.encode("utf-8")
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def ranks(seed: str, messages: list[str]) -> list[bytes]:
    """rank(seed, m) for each message (the same digests), at a fraction of the cost of keying an
    HMAC object per message: the key's states are copied, in one tight loop."""
    inner, outer = _keyed(seed)
    inner_copy, outer_copy = inner.copy, outer.copy
    out = []
    append = out.append
    for message in messages:
        i, o = inner_copy(), outer_copy()
        i.update(message.encode("utf-8"))
        o.update(i.digest())
        append(o.digest())
    return out


def order(seed: str, messages: list[str]) -> list[str]:
    digests = ranks(seed, messages)
    return [messages[i] for i in sorted(range(len(messages)), key=digests.__getitem__)]


def first(seed: str, messages: list[str], k: int) -> list[str]:
    """order(seed, messages)[:k], without sorting all of them: digests are distinct, so the k
    smallest are exactly those at or below the k-th smallest (found with a heap, in C)."""
    if k <= 0:
        return []
    digests = ranks(seed, messages)
    if 4 * k >= len(digests):
        return [messages[i] for i in sorted(range(len(messages)), key=digests.__getitem__)[:k]]
    kth = heapq.nsmallest(k, digests)[-1]
    chosen = sorted((d, i) for i, d in enumerate(digests) if d <= kth)
    return [messages[i] for _, i in chosen]


def how_many(share: Decimal, in_scope: int) -> int:
    """The share of a risk level's entities to draw, at least one where there are any."""
    if in_scope == 0:
        return 0
    return min(in_scope, max(1, math.ceil(share * in_scope)))


def draw_entities(seed: str, by_risk: dict[str, list[str]], shares: dict[str, Decimal]) -> dict[str, list[str]]:
    """Per risk level, its credit codes in draw order, cut at the level's share."""
    return {level: first(seed, codes, how_many(shares.get(level, Decimal(0)), len(codes)))
            for level, codes in sorted(by_risk.items()) if shares.get(level, Decimal(0)) > 0}


def draw_instruments(seed: str, credit_code: str, serials: list[str], count: int) -> list[str]:
    if len(serials) == 1:  # nothing to order (most stations register their dispensers one by one)
        return serials[:count]
    ranked = order(seed, [f"{credit_code}/{serial}" for serial in sorted(serials)])
    return [message.split("/", 1)[1] for message in ranked[:count]]


@dataclass(frozen=True)
class Inspector:
    id: int
    affiliation: str
    conflicts: frozenset[str] = frozenset()  # credit codes of declared conflicts
    last_round: frozenset[str] = frozenset()  # credit codes checked in the previous round


@dataclass
class InspectorDraw:
    chosen: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (inspector id, why)


def recusal(inspector: Inspector, credit_code: str, entity_affiliation: str | None) -> str | None:
    """Why an inspector may not check this entity, if they may not."""
    if credit_code in inspector.conflicts:
        return "declared conflict"
    if entity_affiliation and inspector.affiliation == entity_affiliation:
        return "same affiliation"
    if credit_code in inspector.last_round:
        return "checked the same entity last round"
    return None


@functools.lru_cache(maxsize=8)
def _labels(inspector_ids: tuple[int, ...]) -> tuple[bytes, ...]:
    """'<id>' as bytes, made once per pool rather than once per entity drawn."""
    return tuple(str(inspector_id).encode("ascii") for inspector_id in inspector_ids)


def _inspector_positions(seed: str, credit_code: str, inspector_ids: tuple[int, ...]) -> list[int]:
    """Positions in inspector_ids in the order of rank('<credit_code>#<id>'). The inner SHA-256 state
    after the key and '<credit_code>#' is shared by every inspector of the entity (the same digests
    as rank)."""
    inner, outer = _keyed(seed)
    prefix = inner.copy()
    prefix.update(f"{credit_code}#".encode("utf-8"))
    prefix_copy, outer_copy = prefix.copy, outer.copy
    digests = []
    append = digests.append
    for label in _labels(inspector_ids):
        i, o = prefix_copy(), outer_copy()
        i.update(label)
        o.update(i.digest())
        append(o.digest())
    return sorted(range(len(digests)), key=digests.__getitem__)


def inspector_order(seed: str, credit_code: str, inspector_ids: list[int]) -> list[int]:
    """Inspector ids in the order of rank('<credit_code>#<id>')."""
    ids = tuple(inspector_ids)
    return [ids[k] for k in _inspector_positions(seed, credit_code, ids)]


def draw_inspectors(seed: str, credit_code: str, inspectors: list[Inspector], count: int,
                    entity_affiliation: str | None = None) -> InspectorDraw:
    """Inspectors in draw order, skipping (and recording) the recused, until `count` are chosen."""
    result = InspectorDraw()
    for k in _inspector_positions(seed, credit_code, tuple(inspector.id for inspector in inspectors)):
        if len(result.chosen) == count:
            break
        inspector = inspectors[k]
        why = recusal(inspector, credit_code, entity_affiliation)
        if why:
            result.skipped.append((inspector.id, why))
        else:
            result.chosen.append(inspector.id)
    if len(result.chosen) < count:
        raise DrawRefused(N_("only %(chosen)s of the %(count)s inspectors needed for %(code)s may check it "
                             "(%(recused)s recused)") % {"chosen": len(result.chosen), "count": count,
                                                         "code": credit_code, "recused": len(result.skipped)})
    return result


def rerun_inspectors(seed: str, credit_code: str, pool: list[int], skipped: list[int], count: int) -> list[int]:
    """A published task's inspectors from the plan's pool and the task's recorded skips: the first
    `count` in draw order that were not skipped. Every skip must come before the last one chosen
    (a skip further down the order could not have happened): otherwise nobody."""
    walk, passed_over = inspector_order(seed, credit_code, pool), set(skipped)
    chosen = [i for i in walk if i not in passed_over][:count]
    if not chosen or any(s not in walk or walk.index(s) > walk.index(chosen[-1]) for s in skipped):
        return []
    return chosen
