"""Counts delivery outcomes — queued, delivered once, duplicated, lost — from the store and the fake's records.

A message is identified by (chat, text): what the outbox row holds and what the fake Bot API accepted. Used by
the fault suite and benchmarks/faults.py.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from tests.fakes.telegram_server import Call


@dataclass(frozen=True)
class Tally:
    queued: int
    once: int              # delivered exactly once
    duplicated: int        # delivered more than once (counted once each)
    extra_copies: int      # deliveries beyond the first
    lost: int              # expected but never delivered
    unexpected: int        # delivered but never queued (should be 0)

    @property
    def duplicate_rate(self) -> float:
        return self.extra_copies / self.queued if self.queued else 0.0

    def line(self) -> str:
        return (f"queued {self.queued:,}: delivered once {self.once:,} ({self.once / max(self.queued, 1):.2%}), "
                f"duplicated {self.duplicated:,} (+{self.extra_copies:,} copies, "
                f"{self.duplicate_rate:.2%}), lost {self.lost:,}")


def expected_from_store(store, where: str = "status != 'dropped'") -> list[tuple[int, str]]:
    """(chat, text) of every outbox row that ought to reach its chat."""
    rows = store.db.execute(f"SELECT chat_id, payload FROM outbox WHERE {where}").fetchall()
    return [(int(chat), json.loads(payload)["text"]) for chat, payload in rows]


def tally(expected: Iterable[tuple[int, str]], delivered: Iterable[Call]) -> Tally:
    wanted = Counter(expected)
    got = Counter((int(c.chat_id or 0), c.text) for c in delivered)
    once = sum(1 for key in wanted if got[key] == 1)
    duplicated = sum(1 for key in wanted if got[key] > 1)
    extra = sum(got[key] - 1 for key in wanted if got[key] > 1)
    lost = sum(1 for key in wanted if got[key] == 0)
    unexpected = sum(n for key, n in got.items() if key not in wanted)
    return Tally(sum(wanted.values()), once, duplicated, extra, lost, unexpected)
