"""Sign-in rules in plain Python: how long a client must wait after failed attempts."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """`free` failures within `window` cost nothing; each further one doubles the wait after the
    latest failure, from `first_delay` up to `max_delay`."""

    free: int
    window: dt.timedelta
    first_delay: dt.timedelta
    max_delay: dt.timedelta

    def delay(self, failures: int) -> dt.timedelta:
        """The wait after the latest of `failures` recent failures."""
        if failures < self.free:
            return dt.timedelta(0)
        doublings = min(failures - self.free, 30)  # 2**30 s (34 years) is past any max_delay
        return min(self.first_delay * 2 ** doublings, self.max_delay)

    def retry_after(self, failures: int, latest: dt.datetime | None, now: dt.datetime) -> int:
        """Whole seconds to wait before the next attempt; 0 when it may go ahead."""
        if latest is None:
            return 0
        wait = (latest + self.delay(failures) - now).total_seconds()
        return max(0, math.ceil(wait))


# Per account (the e-mail address tried, known or not): a person who mistypes gets five tries, then
# 1 s, 2 s, 4 s, ... up to 15 minutes; a signed-in success clears the count.
PER_ACCOUNT = Backoff(free=5, window=dt.timedelta(hours=24), first_delay=dt.timedelta(seconds=1),
                      max_delay=dt.timedelta(minutes=15))
# Per client address: more before it bites, since an office signs in from behind one address.
PER_ADDRESS = Backoff(free=30, window=dt.timedelta(hours=1), first_delay=dt.timedelta(seconds=1),
                      max_delay=dt.timedelta(minutes=15))
