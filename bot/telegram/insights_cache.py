"""A short-lived read-through cache over the insights facade, so a chatty customer does not recompute figures.

Same methods as InsightsService (the facade stays the only source of figures); results are reused for `ttl`
seconds. Not cached: `report` (writes a chart file) and `anomalies` ("Was this you?" answers change them).
Figures change only when transactions are ingested or models retrained, so a 30-second staleness bound is
invisible to customers; call `invalidate()` after an in-process write to see it at once.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

CACHED_METHODS = frozenset({
    "as_of", "customer_exists", "profile", "balance", "spending", "this_month", "budget", "segment", "churn",
    "recommendations", "months_available", "insights", "transactions",
})


class CachedInsights:
    """Wraps a facade; unknown attributes pass straight through."""

    def __init__(self, inner: Any, ttl: float = 30.0, max_entries: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._inner = inner
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in CACHED_METHODS or not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def cached(*args: Any, **kwargs: Any) -> Any:
            key = (name, args, tuple(sorted(kwargs.items())))
            now = self._clock()
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and entry[0] > now:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return entry[1]
                self.misses += 1
            value = attribute(*args, **kwargs)   # errors are not cached
            with self._lock:
                self._entries[key] = (now + self._ttl, value)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
            return value

        return cached

    def invalidate(self, customer_id: str | None = None) -> None:
        """Forget everything, or everything about one customer."""
        with self._lock:
            if customer_id is None:
                self._entries.clear()
                return
            for key in [k for k in self._entries if k[1][:1] == (customer_id,)]:
                del self._entries[key]
