"""When a message that failed for a passing reason (network, 5xx, a timeout) is tried again, and when to give up.

Delays double from `first_s` up to `max_s` (30 s, 1, 2, 4 … min, then every 4 h by default); once the delays
add up to more than `give_up_s` (a day by default) the message is dead-lettered. The schedule depends only on
the number of failures, so it needs nothing stored but that count, and a pass never sleeps on it: the row gets
its next due time and the pass goes on with other rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class RetrySchedule:
    first_s: float = 30.0
    max_s: float = 4 * 3600.0
    give_up_s: float = 24 * 3600.0

    def __post_init__(self) -> None:
        if self.first_s <= 0 or self.max_s < self.first_s or self.give_up_s < self.first_s:
            raise ValueError("retry schedule needs 0 < first_s <= max_s and first_s <= give_up_s")

    def delay(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th failure (1-based)."""
        if failures < 1:
            return 0.0
        return min(self.first_s * 2.0 ** min(failures - 1, 60), self.max_s)

    def waited(self, failures: int) -> float:
        """Total seconds of waiting scheduled by the first `failures` failures."""
        return sum(self.delay(n) for n in range(1, failures + 1))

    def gives_up(self, failures: int) -> bool:
        """True when retrying after this many failures would exceed the give-up window."""
        return self.waited(failures) > self.give_up_s

    def next_due(self, failures: int, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(seconds=self.delay(failures))
