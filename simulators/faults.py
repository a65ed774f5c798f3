"""Fault injection at a rate with a seed."""
from __future__ import annotations

import random

# Faults of a request; `run-fault` (a fault status in the middle of a run) belongs to the rig model.
REQUEST_FAULTS = ("no-reply", "corrupt", "exception", "drop")
FAULT_KINDS = REQUEST_FAULTS + ("run-fault",)


class FaultPlan:
    """Decides, request by request, whether and how a simulated rig misbehaves."""

    def __init__(self, rate: float = 0.0, kinds: tuple[str, ...] = FAULT_KINDS, seed: int | str = 0):
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(FAULT_KINDS)}")
        if not 0 <= rate <= 1:
            raise ValueError(f"fault rate must be within 0..1, not {rate}")
        self.rate, self.kinds = rate, tuple(kinds)
        self._request_kinds = [k for k in kinds if k in REQUEST_FAULTS]
        self._rng = random.Random(seed)
        self.injected: dict[str, int] = {}

    def next_request(self) -> str | None:
        """The fault for the next request, or None."""
        if not self._request_kinds or self._rng.random() >= self.rate:
            return None
        kind = self._rng.choice(self._request_kinds)
        self.injected[kind] = self.injected.get(kind, 0) + 1
        return kind

    def flip_bit(self, data: bytes, first: int, end: int) -> bytes:
        """`data` with the low bit of one byte in data[first:end] flipped, at a seeded position."""
        at = self._rng.randrange(first, end)
        return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]

    @property
    def run_fault_rate(self) -> float:
        return self.rate if "run-fault" in self.kinds else 0.0
