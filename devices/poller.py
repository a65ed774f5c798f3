"""Read many rigs concurrently, each at its own rate, time-stamping every sample (live displays)."""
from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from devices.errors import RigError


@dataclass(frozen=True)
class Sample:
    rig: str
    at: datetime  # UTC, when the reply arrived
    lateness_s: float  # how long after its due time the read began
    read_s: float  # how long the read took: the reply came lateness_s + read_s after the due time
    values: dict | None  # None when the read failed
    error: RigError | None = None


@dataclass
class PollStats:
    samples: int = 0
    missed: int = 0  # due reads skipped because the previous one ran over
    lateness_s: list[float] = field(default_factory=list)


class Poller:
    """Each rig gets a task reading it on a fixed schedule; reads on one link queue at its owner."""

    def __init__(self):
        self._rigs: list[tuple] = []

    def add(self, driver, rate_hz: float) -> None:
        if not rate_hz > 0:
            raise ValueError("rate must be positive")
        self._rigs.append((driver, 1 / rate_hz))

    async def run(self, on_sample: Callable[[Sample], None], duration_s: float | None = None) -> PollStats:
        """Poll until duration_s has passed (or forever); on_sample is called with every sample."""
        stats = PollStats()
        loop = asyncio.get_running_loop()
        start = loop.time()
        end = math.inf if duration_s is None else start + duration_s

        async def poll(driver, period_s: float):
            tick = 0
            while (due := start + tick * period_s) < end:
                await asyncio.sleep(due - loop.time())
                began = loop.time()
                try:
                    values, error = await driver.read_live(), None
                except RigError as exc:
                    values, error = None, exc
                stats.samples += 1
                stats.lateness_s.append(began - due)
                on_sample(Sample(driver.name, datetime.now(timezone.utc), began - due, loop.time() - began,
                                 values, error))
                next_tick = max(tick + 1, math.ceil((loop.time() - start) / period_s))
                stats.missed += next_tick - tick - 1
                tick = next_tick

        await asyncio.gather(*(poll(d, p) for d, p in self._rigs))
        return stats
