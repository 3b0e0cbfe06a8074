"""Quiet hours ("22:00-08:00" in the bank's time zone): when a proactive message may be delivered."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

_SPAN = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


class QuietHoursError(ValueError):
    """A quiet-hours value that is not "HH:MM-HH:MM"."""


@dataclass(frozen=True)
class QuietHours:
    """A daily window, possibly across midnight; start == end (or an empty value) means never quiet."""

    start: dt.time | None
    end: dt.time | None
    timezone: ZoneInfo

    @classmethod
    def parse(cls, text: str | None, timezone: str) -> QuietHours:
        zone = ZoneInfo(timezone)
        if not text or not text.strip() or text.strip().lower() in ("off", "none"):
            return cls(None, None, zone)
        match = _SPAN.match(text)
        if not match:
            raise QuietHoursError(f"quiet hours must look like 22:00-08:00, got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        return cls(dt.time(h1, m1), dt.time(h2, m2), zone)

    def is_quiet(self, moment: dt.datetime) -> bool:
        if self.start is None or self.end is None or self.start == self.end:
            return False
        local = moment.astimezone(self.timezone).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, moment: dt.datetime) -> dt.datetime:
        """`moment` itself outside quiet hours, else the end of the current quiet window (timezone-aware)."""
        if moment.tzinfo is None:
            raise ValueError("next_allowed needs a timezone-aware datetime")
        if not self.is_quiet(moment):
            return moment
        assert self.end is not None
        local = moment.astimezone(self.timezone)
        end_today = dt.datetime.combine(local.date(), self.end, tzinfo=self.timezone)
        # In a window across midnight, before-midnight times end tomorrow morning.
        return end_today if end_today > local else end_today + dt.timedelta(days=1)
