"""A clock that moves only when told or slept on: passes run in no real time and assert exact times."""

from __future__ import annotations

import asyncio
import datetime as dt


class ManualClock:
    """Implements bot.notify.clock.Clock; `sleep` advances time at once (and records the wait)."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware start time")
        self.start = start
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return self.elapsed

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        self.elapsed += seconds
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> dt.datetime:
        self.elapsed += seconds
        return self.now()
