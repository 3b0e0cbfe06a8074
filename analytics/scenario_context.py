"""What the fraud scenarios read and write: the frame's facts, one customer's history, names and narrations.

Used by `analytics.fraud_scenarios`; see there for why the names are the module's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Final

import numpy as np
import pandas as pd

from analytics.categorize import normalize_merchant
from analytics.schema import CREDIT, DEBIT, TXN_COLUMNS

# ------------------------------------------------------------------------------------------ name pools
# Indian cities absent from synth_params.CITIES; foreign cities absent from synth_params.FOREIGN_CITIES, each
# with its UTC offset (hours), so a genuine traveller's local daytime lands at the right Indian time.
DOMESTIC_CITIES: Final = (
    "GUWAHATI", "BHUBANESWAR", "THIRUVANANTHAPURAM", "MADURAI", "VIJAYAWADA", "RANCHI", "JODHPUR", "UDAIPUR",
    "SHIMLA", "VARANASI", "MANGALORE", "HUBLI", "TIRUPATI", "AURANGABAD", "KOLHAPUR", "JALANDHAR", "GWALIOR",
    "JABALPUR", "MEERUT", "SILIGURI", "CUTTACK", "SALEM", "TIRUCHIRAPPALLI", "KOZHIKODE", "RAJKOT", "AJMER",
    "KOTA", "SRINAGAR", "SHILLONG", "PANAJI", "BELAGAVI", "GORAKHPUR", "BAREILLY", "THRISSUR", "ALIGARH",
)
FOREIGN_CITIES: Final = (
    ("ABU DHABI", 4.0), ("DOHA", 3.0), ("MUSCAT", 4.0), ("KUALA LUMPUR", 8.0), ("COLOMBO", 5.5),
    ("KATHMANDU", 5.75), ("DENPASAR", 8.0), ("PHUKET", 7.0), ("HANOI", 7.0), ("TOKYO", 9.0), ("SYDNEY", 10.0),
    ("PARIS", 1.0), ("ZURICH", 1.0), ("AMSTERDAM", 1.0), ("ISTANBUL", 3.0), ("TORONTO", -5.0),
    ("SAN FRANCISCO", -8.0), ("MALE", 5.0), ("NAIROBI", 3.0), ("CAPE TOWN", 2.0), ("MANILA", 8.0),
    ("JAKARTA", 7.0), ("RIYADH", 3.0), ("SEOUL", 9.0), ("FRANKFURT", 1.0), ("PORT LOUIS", 4.0),
)
# Brand words are combined with a kind's suffixes at random: no injected merchant is a fixed constant.
BRAND_WORDS: Final = (
    "AARNA", "BHAVYA", "CHITRAL", "DHRUVA", "EKAM", "FALAK", "GAGAN", "HIRAL", "ISHVA", "JIVAN", "KESARI",
    "LAVYA", "MEGHDOOT", "NAKSHA", "OJASVI", "PARTHAV", "RIDDHAM", "SAANVIK", "TANVIR", "UDAYAN", "VIHANG",
    "YASHAS", "ZOYAN", "ARCADIA", "BLUEPINE", "COPPERLEAF", "DEEPSTONE", "EVERGLOW", "FIREFLY", "GOLDCREST",
    "HILLTOP", "IRONWOOD", "JADEWAVE", "KITEFLY", "LOTUSLINE", "MOONBEAM", "NORTHSTAR", "OAKRIDGE", "PEAKVIEW",
    "QUARTZLINE", "REDWOOD", "SILVERLINE", "TEAKWOOD", "UPTOWN", "VERMILION", "WILLOW", "ZENITHA", "AMBERLY",
)
# kind -> (suffixes, category). Categories are the contract's (analytics.schema.CATEGORIES).
MERCHANT_KINDS: Final = {
    "digital": (("GAMES", "DIGITAL", "APPS", "STREAMING", "RECHARGE", "GAMING STUDIO", "ESPORTS"), "entertainment"),
    "giftcard": (("GIFT VOUCHERS", "EGIFT", "GIFTS ONLINE", "VOUCHER HUB"), "other"),
    "donation": (("FOUNDATION", "CHARITABLE TRUST", "SEVA SAMITI"), "other"),
    "electronics": (("ELECTRONICS", "MOBILES", "GADGETS", "APPLIANCES", "COMPUTERS", "DIGITAL WORLD"), "shopping"),
    "jewellery": (("JEWELLERS", "GOLD HOUSE", "DIAMONDS", "ORNAMENTS"), "shopping"),
    "luxury": (("WATCH CO", "LUXE", "DESIGNER STUDIO", "LEATHERS"), "shopping"),
    "furniture": (("FURNITURE", "FURNISHINGS", "HOME DECOR", "INTERIORS"), "shopping"),
    "two_wheeler": (("MOTORS", "AUTO AGENCY", "WHEELS", "AUTOMOBILES"), "shopping"),
    "airline": (("AIRWAYS", "AIR", "FLIGHTS", "AVIATION"), "travel"),
    "travel_agency": (("HOLIDAYS", "TRAVELS", "TOURS", "JOURNEYS"), "travel"),
    "hotel": (("HOTEL", "RESORT", "SUITES", "INN", "RESIDENCY"), "travel"),
    "tickets": (("LIVE EVENTS", "CONCERTS", "TICKETING"), "entertainment"),
    "cafe": (("CAFE", "BISTRO", "GRILL", "KITCHEN", "EATERY", "NOODLE BAR"), "dining"),
    "shop": (("DUTY FREE", "MARKET", "BOUTIQUE", "STORE", "OUTLET"), "shopping"),
    "transport": (("TAXI", "CABS", "TRANSIT", "RIDES"), "travel"),
    "attraction": (("MUSEUM", "AQUARIUM", "THEME PARK", "CITY TOURS"), "entertainment"),
    "minimart": (("MINIMART", "GROCER", "FRESH MART"), "groceries"),
}
FIRST_NAMES: Final = (
    "ARJUN", "MEERA", "NIKHIL", "SANA", "KABIR", "ANANYA", "ROHAN", "DIVYA", "FARHAN", "ISHITA", "PRANAV",
    "RUCHI", "SAMEER", "TARA", "VARUN", "NEHA", "IMRAN", "POOJA", "ADITYA", "KAVYA", "MANOJ", "LATA",
)
SURNAMES: Final = (
    "MEHTA", "IYER", "REDDY", "KHAN", "NAIR", "PATIL", "BOSE", "GILL", "RAO", "DAS", "JOSHI", "KULKARNI",
    "PILLAI", "SETHI", "CHOWDHURY", "BHAT", "VERMA", "GHOSH", "MENON", "SAIKIA",
)
EMPLOYER_SUFFIXES: Final = ("TECHNOLOGIES PVT LTD", "INFOTECH LTD", "PHARMA LTD", "ENGINEERING LTD",
                            "RETAIL PVT LTD", "CONSULTING LLP", "LOGISTICS PVT LTD")
INSURER_SUFFIXES: Final = ("LIFE INSURANCE", "GENERAL INSURANCE", "HEALTH INSURANCE")
LENDER_SUFFIXES: Final = ("FINSERV", "CAPITAL", "FINANCE", "CREDIT")
UPI_BANKS: Final = ("okaxis", "oksbi", "okhdfcbank", "okicici", "ybl", "ibl", "paytm", "upi")

DAY_NS: Final = 86_400 * 10**9
MINUTE: Final = pd.Timedelta(minutes=1)


# ------------------------------------------------------------------------------------------ values
@dataclass(frozen=True)
class NewRow:
    """One injected transaction before IDs, balances and customer fields are filled in."""

    ts: pd.Timestamp
    amount: float
    txn_type: str
    step: str                          # the row's part in its scenario ("probe", "transfer", "bonus", ...)
    payee: str | None = None           # base name; decorated as the channel's bank narration
    category: str | None = None
    channel: str | None = None         # intended rail (UPI, POS, ONLINE, ATM, NEFT, IMPS, AUTO)
    location: str | None = None        # None: the customer's home place
    merchant_text: str | None = None   # exact narration (an existing payee's, e.g. the same landlord)


@dataclass(frozen=True)
class Event:
    """One scenario instance on one customer; `replaces` are frame positions its rows take the place of."""

    rows: tuple[NewRow, ...]
    replaces: tuple[int, ...] = ()


# ------------------------------------------------------------------------------------------ frame context
class FrameContext:
    """Facts about the whole frame the scenarios read: which fields it fills, its hours, its places."""

    def __init__(self, frame: pd.DataFrame, codes: np.ndarray, rng: np.random.Generator) -> None:
        missing = [c for c in TXN_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"not a canonical transaction frame: missing {', '.join(missing)}")
        if frame.empty:
            raise ValueError("cannot inject scenarios into an empty frame")
        self.has_merchant = bool(frame["merchant"].notna().any())
        self.has_category = bool(frame["category"].notna().any())
        self.has_channel = bool(frame["channel"].notna().any())
        self.has_location = bool(frame["location"].notna().any())
        credit = (frame["txn_type"] == CREDIT).to_numpy()
        debit = ~credit
        ts = frame["ts"]
        self.start = pd.Timestamp(ts.min())
        self.end = pd.Timestamp(ts.max())
        self.last_moment = self.end.normalize() + pd.Timedelta(hours=23, minutes=59, seconds=59)
        hours = np.bincount(ts.dt.hour.to_numpy()[debit], minlength=24).astype(float) + 1.0
        self.hour_weights = hours / hours.sum()
        amounts = frame["amount"].to_numpy()[debit]
        self.paise_share = float(np.mean(np.abs(amounts - np.round(amounts)) > 0.004)) if len(amounts) else 0.0
        category = frame["category"].isna().to_numpy()
        self.category_missing = {
            DEBIT: float(category[debit].mean()) if debit.any() else 1.0,
            CREDIT: float(category[credit].mean()) if credit.any() else 0.0,
        }
        self.balance_missing = float(frame["balance"].isna().mean())
        channels = frame["channel"].dropna()
        self.channels = tuple(channels.value_counts().index) if len(channels) else ()
        places = frame["location"].dropna()
        self.common_places = tuple(places.value_counts().index[:300]) if len(places) else ()
        self.ledger = _is_ledger(frame, codes)
        self.names = _Names(rng)

    # -- time
    def event_day(self, h: CustomerHistory, rng: np.random.Generator, days: float) -> pd.Timestamp | None:
        """A day for an event lasting `days`, after the first third of the customer's history."""
        earliest = (int(h.ts_ns[len(h.ts_ns) // 3]) // DAY_NS + 1) * DAY_NS
        latest = self.end.normalize().value - int(np.ceil(days)) * DAY_NS
        if latest < earliest:
            return None
        return pd.Timestamp(earliest + int(rng.integers(0, (latest - earliest) // DAY_NS + 1)) * DAY_NS)

    def time_of_day(self, rng: np.random.Generator, hours: tuple[float, float] = (0, 24),
                    bank_shape: bool = True) -> pd.Timedelta:
        """A time in [hours): weighted like the frame's own debits when `bank_shape`, else uniform."""
        lo, hi = hours
        if bank_shape:
            hour_ids = np.arange(int(np.floor(lo)), int(np.ceil(hi)))
            weights = self.hour_weights[hour_ids % 24]
            hour = int(rng.choice(hour_ids, p=weights / weights.sum()))
            low = max(lo, hour) * 3600
            high = min(hi, hour + 1) * 3600
        else:
            low, high = lo * 3600, hi * 3600
        return pd.Timedelta(seconds=int(rng.uniform(low, high)))

    # -- fields
    def channel(self, intended: str) -> str | None:
        """The frame's own word for a rail: never a channel value the frame does not use."""
        if not self.has_channel:
            return None
        fallbacks = {"IMPS": ("IMPS", "NEFT", "UPI", "ONLINE"), "AUTO": ("NACH", "ACH", "NEFT", "ONLINE"),
                     "NEFT": ("NEFT", "IMPS", "ONLINE"), "POS": ("POS", "CARD", "ONLINE")}
        for option in fallbacks.get(intended, (intended,)):
            if option in self.channels:
                return option
        return self.channels[0]

    def category(self, value: str | None, txn_type: str, rng: np.random.Generator) -> str | None:
        """A category where the frame gives them, left empty as often as the frame leaves them empty."""
        if not self.has_category or value is None:
            return None
        return None if rng.random() < self.category_missing[txn_type] else value

    def new_place(self, h: CustomerHistory, rng: np.random.Generator, abroad_share: float) -> tuple[str, float]:
        """A place the customer has never transacted in, with its UTC offset: abroad or another Indian city.

        Domestic places come half from the frame's own common places (so "a city nobody here uses" is not
        the tell) and half from the module's list.
        """
        if rng.random() < abroad_share:
            options = [(c, off) for c, off in FOREIGN_CITIES if c not in h.places]
            city, offset = options[int(rng.integers(len(options)))]
            return city, offset
        own = [p for p in self.common_places if p not in h.places]
        mine = [c for c in DOMESTIC_CITIES if c not in h.places]
        pool = own if own and (rng.random() < 0.5 or not mine) else mine
        return str(pool[int(rng.integers(len(pool)))]), 5.5

    def money(self, value: float, rng: np.random.Generator, *, paise: bool | None = None) -> float:
        """A purchase amount: with paise as often as the frame's debits have them, else whole rupees."""
        keep_paise = rng.random() < self.paise_share if paise is None else paise
        return round(float(value), 2) if keep_paise else float(max(1, round(float(value))))

    # -- feasibility
    def feasible(self, h: CustomerHistory, event: Event) -> bool:
        """No balance the event leaves behind (its own rows, and in a ledger every later row) is negative."""
        if not np.isfinite(h.levels).any():
            return True
        times = np.array([r.ts.value for r in event.rows], dtype=np.int64)
        signed = np.array([r.amount if r.txn_type == CREDIT else -r.amount for r in event.rows])
        if event.replaces:
            local = np.searchsorted(h.positions_sorted_key, event.replaces)
            times = np.r_[times, h.ts_ns[h.order_of_positions[local]]]
            signed = np.r_[signed, -h.signed[h.order_of_positions[local]]]
        order = np.argsort(times, kind="stable")
        times, signed = times[order], signed[order]
        cum = np.cumsum(signed)
        anchor = np.searchsorted(h.ts_ns, times, side="right") - 1
        base = np.where(anchor >= 0, h.levels[np.maximum(anchor, 0)], h.opening)
        own = base + cum
        if np.nanmin(own) < 0:
            return False
        if self.ledger:
            later = np.flatnonzero(h.ts_ns >= times[0])
            shift = np.searchsorted(times, h.ts_ns[later], side="right") - 1
            shifted = h.levels[later] + np.where(shift >= 0, cum[np.maximum(shift, 0)], 0.0)
            if len(shifted) and np.nanmin(shifted) < 0:
                return False
        return True


def _is_ledger(frame: pd.DataFrame, codes: np.ndarray) -> bool:
    """True when each balance is the previous one plus this signed amount (a statement), for 90% of pairs."""
    balance = frame["balance"].to_numpy(dtype=float)
    if np.isnan(balance).all():
        return False
    order = np.lexsort((np.arange(len(frame)), frame["ts"].to_numpy(), codes))
    b, c = balance[order], codes[order]
    signed = np.where(frame["txn_type"].to_numpy()[order] == CREDIT, 1.0, -1.0) * frame["amount"].to_numpy()[order]
    pair = (c[1:] == c[:-1]) & ~np.isnan(b[1:]) & ~np.isnan(b[:-1])
    if pair.sum() < 10:
        return False
    return bool(np.mean(np.abs(b[1:][pair] - b[:-1][pair] - signed[1:][pair]) < 0.011) >= 0.9)


class _Names:
    """Per-injection name choices: a few insurers and lenders shared by many customers (known billers)."""

    def __init__(self, rng: np.random.Generator) -> None:
        words = rng.permutation(np.array(BRAND_WORDS, dtype=object))
        self.insurers = tuple(f"{words[i]} {INSURER_SUFFIXES[i % 3]}" for i in range(6))
        self.lenders = tuple(f"{words[6 + i]} {LENDER_SUFFIXES[i % 4]}" for i in range(5))

    @staticmethod
    def brand(rng: np.random.Generator, kind: str, city: str | None = None) -> str:
        suffixes, _ = MERCHANT_KINDS[kind]
        word = str(BRAND_WORDS[int(rng.integers(len(BRAND_WORDS)))])
        if rng.random() < 0.3:
            word = f"{word} {BRAND_WORDS[int(rng.integers(len(BRAND_WORDS)))]}"
        name = f"{word} {suffixes[int(rng.integers(len(suffixes)))]}"
        return f"{name} {city}" if city and rng.random() < 0.6 else name

    @staticmethod
    def person(rng: np.random.Generator) -> str:
        return f"{FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]} {SURNAMES[int(rng.integers(len(SURNAMES)))]}"

    @staticmethod
    def employer(rng: np.random.Generator) -> str:
        word = BRAND_WORDS[int(rng.integers(len(BRAND_WORDS)))]
        return f"{word} {EMPLOYER_SUFFIXES[int(rng.integers(len(EMPLOYER_SUFFIXES)))]}"


def narration(payee: str, channel: str | None, city: str | None, rng: np.random.Generator) -> str:
    """A bank statement description for `payee` on `channel`, in one of several common Indian formats."""
    def digits(n: int) -> str:
        return "".join(map(str, rng.integers(0, 10, n)))

    city = city or ""
    forms: dict[str, tuple[Callable[[], str], ...]] = {
        "UPI": (lambda: f"UPI/{digits(12)}/{payee}",
                lambda: f"UPI-{payee}-{payee.replace(' ', '').lower()[:12]}@{UPI_BANKS[int(rng.integers(8))]}",
                lambda: f"UPI/{payee}/{city}"),
        "POS": (lambda: f"POS {digits(4)} {payee} {city}", lambda: f"{payee} {city}",
                lambda: f"PCD/{digits(4)}/{payee}"),
        "ONLINE": (lambda: f"{payee}*{digits(5)}", lambda: f"ECOM PUR/{payee}", lambda: payee),
        "ATM": (lambda: f"ATW-{digits(6)}XXXXXX{digits(4)}-S1{digits(5)}-{city}", lambda: f"NWD-{digits(6)}-{city}",
                lambda: f"CASH WDL/{digits(6)}/{city}"),
        "NEFT": (lambda: f"NEFT/{payee}", lambda: f"NEFT-N{digits(9)}-{payee}", lambda: f"IMPS/{digits(12)}/{payee}"),
        "IMPS": (lambda: f"IMPS/{digits(12)}/{payee}", lambda: f"MMT/IMPS/{digits(12)}/{payee}",
                 lambda: f"NEFT/{payee}"),
        "AUTO": (lambda: f"ACH D- {payee}-{digits(8)}", lambda: f"NACH/{payee}/{digits(10)}",
                 lambda: f"{payee} AUTO DEBIT"),
    }
    options = forms.get(channel or "", (lambda: payee,))
    text = options[int(rng.integers(len(options)))]()
    return " ".join(text.split()).strip("/- ")


# ------------------------------------------------------------------------------------------ customer history
class CustomerHistory:
    """One customer's original rows in time order, and what the scenarios ask of them."""

    def __init__(self, customer_id: str, positions: np.ndarray, cols: Mapping[str, np.ndarray],
                 frame: FrameContext) -> None:
        self.customer_id = customer_id
        ts = cols["ts"][positions]
        order = np.lexsort((positions, ts))
        self.positions = positions[order]
        self.ts_ns = ts[order].astype(np.int64)
        self.ts = self.ts_ns.astype("datetime64[ns]")
        self.amount = cols["amount"][self.positions]
        self.credit = cols["credit"][self.positions]
        self.signed = np.where(self.credit, self.amount, -self.amount)
        self.merchant = cols["merchant"][self.positions]
        self.category = cols["category"][self.positions]
        self.channel = cols["channel"][self.positions]
        self.location = cols["location"][self.positions]
        self.dob = cols["dob"][self.positions]
        self.gender = cols["gender"][self.positions]
        balance = cols["balance"][self.positions]
        self.balance = balance
        # Balance levels at each row: in a ledger, rebuilt through empty cells from the running sum; otherwise
        # the last reported balance carried forward.
        if frame.ledger:
            running = np.cumsum(self.signed)
            opening = carry_known(balance - running)
            self.levels = opening + running
            self.opening = float(opening[0])
        else:
            known = carry_known(balance)
            self.levels = known
            self.opening = float(known[0]) if len(known) else float("nan")
        self.positions_sorted_key = np.sort(self.positions)
        self.order_of_positions = np.argsort(self.positions)
        debits = self.amount[~self.credit]
        positive = debits[debits > 0]
        # The customer's "usual": the median of their own debits above zero over the whole original history.
        self.usual = float(np.median(positive)) if len(positive) else float("nan")

    @cached_property
    def places(self) -> frozenset[str]:
        return frozenset(str(p) for p in self.location if p is not None)

    @cached_property
    def home(self) -> str | None:
        """The customer's most used place; among equals, the latest."""
        counts: dict[str, int] = {}
        last: dict[str, int] = {}
        for i, p in enumerate(self.location):
            if p is not None:
                counts[p] = counts.get(p, 0) + 1
                last[p] = i
        if not counts:
            return None
        return max(counts, key=lambda p: (counts[p], last[p]))

    @cached_property
    def category_share(self) -> dict[str, float]:
        """Share of each category among the customer's debits whose category is known."""
        known = [c for c, credit in zip(self.category, self.credit, strict=True) if c is not None and not credit]
        if not known:
            return {}
        values, counts = np.unique(np.array(known, dtype=object), return_counts=True)
        return {str(v): float(n) / len(known) for v, n in zip(values, counts, strict=True)}

    def headroom(self, at: pd.Timestamp) -> float:
        """Money the customer can lose at `at` without a later balance going negative (ledger), else the level."""
        if not np.isfinite(self.levels).any():
            return float("inf")
        anchor = int(np.searchsorted(self.ts_ns, at.value, side="right")) - 1
        now = self.levels[anchor] if anchor >= 0 else self.opening
        later = self.levels[anchor + 1:]
        return float(min(now, later.min())) if len(later) else float(now)

    def streams(self, rows: np.ndarray) -> list[np.ndarray]:
        """Recurring payees among `rows`: one normalised payee in 3+ distinct months, amounts within 15% of median."""
        keys: dict[str, list[int]] = {}
        for i in rows:
            if self.merchant[i] is not None:
                key = _payee_key(self.merchant[i])
                if key:
                    keys.setdefault(key, []).append(int(i))
        found = []
        for idx in keys.values():
            if len(idx) < 3:
                continue
            ix = np.array(idx)
            months = len(np.unique(self.ts[ix].astype("datetime64[M]")))
            median = float(np.median(self.amount[ix]))
            if months >= 3 and np.mean(np.abs(self.amount[ix] - median) <= 0.15 * median) >= 0.7:
                found.append(ix)
        return found

    @cached_property
    def salary(self) -> np.ndarray | None:
        """Row indices of the customer's salary: their largest steady monthly credit of at least ₹5,000."""
        best = [(float(np.median(self.amount[ix])), ix) for ix in self.streams(np.flatnonzero(self.credit))]
        best = [b for b in best if b[0] >= 5_000]
        return max(best, key=lambda b: b[0])[1] if best else None

    @cached_property
    def rent(self) -> np.ndarray | None:
        """Row indices of rent to one landlord: 4+ months, category rent (or RENT in the payee when unknown)."""
        maybe = [i for i in np.flatnonzero(~self.credit)
                 if self.category[i] == "rent" or (self.category[i] is None and self.merchant[i] is not None
                                                   and "RENT" in str(self.merchant[i]).upper())]
        for ix in self.streams(np.array(maybe, dtype=np.int64)):
            cats = {c for c in self.category[ix] if c is not None}
            months = len(np.unique(self.ts[ix].astype("datetime64[M]")))
            if cats <= {"rent"} and len(ix) >= 4 and months >= 4:
                return ix
        return None

    def latest_index(self, at: pd.Timestamp) -> int:
        return max(0, int(np.searchsorted(self.ts_ns, at.value, side="right")) - 1)


# ------------------------------------------------------------------------------------------ helpers
def carry_known(values: np.ndarray) -> np.ndarray:
    """Carry the last known value forward, and the first one back over leading gaps (numpy ffill + bfill)."""
    known = ~np.isnan(values)
    if not known.any():
        return values.copy()
    last = np.maximum.accumulate(np.where(known, np.arange(len(values)), -1))
    last[last < 0] = int(np.flatnonzero(known)[0])
    return values[last]


@lru_cache(maxsize=65_536)
def _payee_key(text: str) -> str:
    return normalize_merchant(text)


def loguniform(rng: np.random.Generator, lo: float, hi: float, size: int | None = None) -> np.ndarray | float:
    """Spread evenly over orders of magnitude: amounts and multiples are drawn this way."""
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def count_in(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    """An integer in [low, high], both included."""
    return int(rng.integers(bounds[0], bounds[1] + 1))


def within_frame(rows: Sequence[NewRow], frame: FrameContext) -> bool:
    """Rows inside the frame's dates (the analytics clock must not move) with positive amounts."""
    return all(frame.start <= r.ts <= frame.last_moment for r in rows) and all(r.amount > 0 for r in rows)


def make_event(rows: list[NewRow], frame: FrameContext, replaces: tuple[int, ...] = ()) -> Event | None:
    """An event of these rows, or None when any falls outside the frame."""
    return Event(tuple(rows), replaces) if rows and within_frame(rows, frame) else None


def round_to(value: float, step: float) -> float:
    """Nearest multiple of `step`, at least one step."""
    return float(max(step, round(value / step) * step))


def round_up(value: float, step: float) -> float:
    """Next multiple of `step` up (keeps "at least N times usual" true after rounding)."""
    return float(max(step, np.ceil(value / step) * step))


def positions_by_code(codes: np.ndarray, wanted: np.ndarray) -> dict[int, np.ndarray]:
    """Frame positions of each wanted customer code (one stable sort, not a groupby over every customer)."""
    keep = np.zeros(int(codes.max()) + 2, dtype=bool)
    keep[wanted] = True
    rows = np.flatnonzero(keep[codes])
    sub = codes[rows]
    order = np.argsort(sub, kind="stable")
    rows, sub = rows[order], sub[order]
    cuts = np.flatnonzero(np.r_[True, sub[1:] != sub[:-1]])
    return {int(sub[s]): rows[s:e] for s, e in zip(cuts, np.r_[cuts[1:], len(rows)], strict=True)}


def txn_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The frame's columns as numpy arrays, text as objects with None for missing."""
    def text(name: str) -> np.ndarray:
        return frame[name].to_numpy(dtype=object, na_value=None)

    return {
        "ts": frame["ts"].to_numpy(dtype="datetime64[ns]").astype(np.int64),
        "amount": frame["amount"].to_numpy(dtype=float),
        "balance": frame["balance"].to_numpy(dtype=float),
        "credit": (frame["txn_type"] == CREDIT).to_numpy(),
        "merchant": text("merchant"), "category": text("category"), "channel": text("channel"),
        "location": text("location"), "gender": text("gender"),
        "dob": frame["dob"].to_numpy(dtype="datetime64[ns]"),
    }
