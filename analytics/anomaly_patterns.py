"""What customers answered "Yes, it was me" to, as patterns the fraud detector expects from then on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics.anomaly_rows import text_or_none

CONFIRMED_AMOUNT_BAND = 1.5      # a confirmed amount makes amounts within this factor of it expected


@dataclass(frozen=True)
class ConfirmedPatterns:
    """What customers answered "Yes, it was me" to: that merchant, that place and that amount band become
    expected for that customer at once, without retraining."""

    merchants: frozenset[tuple[str, str]] = frozenset()
    places: frozenset[tuple[str, str]] = frozenset()
    amounts: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, confirmed: pd.DataFrame) -> ConfirmedPatterns:
        """From confirmed transactions: columns customer_id, amount and (optionally) merchant, location."""
        if confirmed is None or len(confirmed) == 0:
            return cls()
        cids = confirmed["customer_id"].astype(str).tolist()
        merchants = confirmed["merchant"].tolist() if "merchant" in confirmed else [None] * len(cids)
        places = confirmed["location"].tolist() if "location" in confirmed else [None] * len(cids)
        amounts: dict[str, list[float]] = {}
        for cid, amount in zip(cids, confirmed["amount"].astype(float).tolist(), strict=True):
            amounts.setdefault(cid, []).append(amount)
        return cls(frozenset((c, m) for c, m in zip(cids, merchants, strict=True) if text_or_none(m) is not None),
                   frozenset((c, p) for c, p in zip(cids, places, strict=True) if text_or_none(p) is not None),
                   {c: tuple(sorted(v)) for c, v in amounts.items()})

    def __bool__(self) -> bool:
        return bool(self.merchants or self.places or self.amounts)

    def merged(self, other: ConfirmedPatterns | None) -> ConfirmedPatterns:
        if not other:
            return self
        if not self:
            return other
        amounts = {c: tuple(sorted(self.amounts.get(c, ()) + other.amounts.get(c, ())))
                   for c in set(self.amounts) | set(other.amounts)}
        return ConfirmedPatterns(self.merchants | other.merchants, self.places | other.places, amounts)

    def customers(self) -> set[str]:
        return {c for c, _ in self.merchants} | {c for c, _ in self.places} | set(self.amounts)

    def expected(self, customer_id: str, merchant: Any, place: Any, amount: float) -> tuple[bool, bool, bool]:
        """(merchant expected, place expected, amount expected) for one transaction of `customer_id`."""
        band = np.log(CONFIRMED_AMOUNT_BAND)
        amount_ok = any(abs(np.log(max(amount, 1.0) / max(a, 1.0))) <= band for a in self.amounts.get(customer_id, ()))
        return (customer_id, merchant) in self.merchants, (customer_id, place) in self.places, amount_ok


