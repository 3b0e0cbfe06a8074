"""Labelled fraud and genuine-but-unusual scenarios injected into any canonical transaction frame, to judge detectors.

The scenarios are written from how card and account fraud, and the genuine behaviour most often mistaken for
it, look in a bank's transaction data -- not from `analytics.synth`'s own fraud nor from any detector's
signals. They work on any frame with the canonical columns (`analytics.schema.TXN_COLUMNS`): a rich one with
merchants, categories, channels and credits (the synthetic bank), and a thin one with debits only (the public
file). A field the frame never fills is left empty on injected rows too, so "has a merchant" is never a tell;
scenarios that cannot be told apart from fraud without payee text (an insurance premium, a rent rise) are
not injected where there is no payee text (see each scenario's docstring).

Names are the module's own (cities and merchants absent from `data/merchants.csv` and `synth_params`), brand
names are composed at random per seed, and every amount is a random multiple of the customer's own usual
debit, so a detector cannot key on a constant. Fraud and genuine scenarios draw places and merchants from the
same pools: "a foreign city" or "a new electronics shop" is in both.

    >>> from analytics.fraud_scenarios import inject_scenarios
    >>> frame, labels, removed, summary = inject_scenarios(txns, seed=1, per_scenario=20)   # doctest: +SKIP
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Final, NamedTuple

import numpy as np
import pandas as pd

from analytics.categorize import normalize_merchant
from analytics.schema import CREDIT, DEBIT, TXN_COLUMNS

LABEL_COLUMNS: Final = ("transaction_id", "scenario", "is_fraud", "customer_id", "event", "step")
SUMMARY_COLUMNS: Final = ("scenario", "is_fraud", "applicable", "requested", "events", "rows")

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

_DAY_NS: Final = 86_400 * 10**9
_MINUTE: Final = pd.Timedelta(minutes=1)


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


class Injection(NamedTuple):
    """What `inject_scenarios` returns: the new frame, its labels, the replaced IDs and counts per scenario."""

    frame: pd.DataFrame        # canonical TXN_COLUMNS, RangeIndex
    labels: pd.DataFrame       # LABEL_COLUMNS, one row per injected transaction
    removed: tuple[str, ...]   # original transaction IDs replaced (a raised rent replaces the old payments)
    summary: pd.DataFrame      # SUMMARY_COLUMNS


@dataclass(frozen=True)
class Scenario:
    name: str
    make: Callable[..., Event | None]
    is_fraud: bool
    needs_merchant: bool = False     # payee text is what makes it what it is (a premium, a landlord)

    def applies(self, frame: FrameContext) -> bool:
        return frame.has_merchant or not self.needs_merchant


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
        earliest = (int(h.ts_ns[len(h.ts_ns) // 3]) // _DAY_NS + 1) * _DAY_NS
        latest = self.end.normalize().value - int(np.ceil(days)) * _DAY_NS
        if latest < earliest:
            return None
        return pd.Timestamp(earliest + int(rng.integers(0, (latest - earliest) // _DAY_NS + 1)) * _DAY_NS)

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
            opening = _fill(balance - running)
            self.levels = opening + running
            self.opening = float(opening[0])
        else:
            known = _fill(balance)
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
def _fill(values: np.ndarray) -> np.ndarray:
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


def _loguniform(rng: np.random.Generator, lo: float, hi: float, size: int | None = None) -> np.ndarray | float:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def _count(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))


def _within(rows: Sequence[NewRow], frame: FrameContext) -> bool:
    return all(frame.start <= r.ts <= frame.last_moment for r in rows) and all(r.amount > 0 for r in rows)


def _event(rows: list[NewRow], frame: FrameContext, replaces: tuple[int, ...] = ()) -> Event | None:
    return Event(tuple(rows), replaces) if rows and _within(rows, frame) else None


def _round_to(value: float, step: float) -> float:
    return float(max(step, round(value / step) * step))


def _round_up(value: float, step: float) -> float:
    return float(max(step, np.ceil(value / step) * step))


# ------------------------------------------------------------------------------------------ fraud scenarios
def account_takeover(h: CustomerHistory, f: FrameContext, rng: np.random.Generator, *,
                     transfers: tuple[int, int] = (1, 3), drain: tuple[float, float] = (0.45, 0.95),
                     min_multiple: float = 8.0, abroad_share: float = 0.5, gap_minutes: tuple[float, float] = (2, 150),
                     probe_share: float = 0.35, max_transfer: tuple[float, float] = (100_000.0, 500_000.0),
                     ) -> Event | None:
    """Someone with the customer's login empties the account to a payee the customer never paid.

    From a place the customer has never used (abroad with probability `abroad_share`, else another Indian
    city), at any hour: optionally a small probe transfer (₹1–500, `probe_share`), then `transfers` transfers
    to the same new payee, `gap_minutes` apart, together a `drain` share of the money the customer can lose
    (each at most a per-event limit drawn from `max_transfer`, like IMPS/NEFT limits), each at least
    `min_multiple` times the customer's usual debit. Where the frame has no balance, the total is 10–60×
    usual per transfer.
    """
    day = f.event_day(h, rng, days=1)
    if day is None or not np.isfinite(h.usual):
        return None
    place, _ = f.new_place(h, rng, abroad_share)
    start = day + f.time_of_day(rng, bank_shape=rng.random() < 0.5)
    n = _count(rng, transfers)
    room = h.headroom(start)
    total = (float(rng.uniform(*drain)) * room if np.isfinite(room)
             else h.usual * n * float(_loguniform(rng, 10, 60)))
    limit = _round_to(float(_loguniform(rng, *max_transfer)), 1000)
    parts = total * rng.dirichlet(np.full(n, 4.0))
    parts = np.where(parts > limit, limit * rng.uniform(0.9, 1.0, n), parts)
    parts = np.array([_round_to(p, 1000 if rng.random() < 0.5 else 1) for p in parts])
    if parts.min() < min_multiple * h.usual:
        return None
    payee = f.names.person(rng)
    rail = str(rng.choice(["IMPS", "NEFT", "UPI"]))
    rows: list[NewRow] = []
    t = start
    if rng.random() < probe_share:
        rows.append(NewRow(t, _round_to(float(_loguniform(rng, 1, 500)), 1), DEBIT, "probe", payee, "transfers",
                           rail, place))
        t += _MINUTE * float(rng.uniform(1, 15))
    for amount in parts:
        rows.append(NewRow(t, float(amount), DEBIT, "transfer", payee, "transfers", rail, place))
        t += _MINUTE * float(rng.uniform(*gap_minutes))
    return _event(rows, f)


def card_testing(h: CustomerHistory, f: FrameContext, rng: np.random.Generator, *,
                 probes: tuple[int, int] = (2, 4), probe_amount: tuple[float, float] = (1.0, 99.0),
                 large_multiple: tuple[float, float] = (10.0, 40.0), probe_gap_minutes: tuple[float, float] = (0.3, 6),
                 large_gap_minutes: tuple[float, float] = (1, 25), same_merchant_share: float = 0.5,
                 away_share: float = 0.5) -> Event | None:
    """Stolen card details are checked with tiny online payments, then used for one large purchase.

    `probes` payments of ₹`probe_amount` at new online merchants (digital goods, donations, gift cards; one
    merchant for all with probability `same_merchant_share`), `probe_gap_minutes` apart, then one purchase of
    `large_multiple` times the customer's usual at a new online shop (electronics, jewellery, gift cards)
    `large_gap_minutes` later. The merchant's place is the customer's home or, with `away_share`, a new city.
    Any hour (these are scripts).
    """
    day = f.event_day(h, rng, days=1)
    if day is None or not np.isfinite(h.usual):
        return None
    place = f.new_place(h, rng, 0.4)[0] if rng.random() < away_share else None
    t = day + f.time_of_day(rng, bank_shape=False)
    large = h.usual * float(_loguniform(rng, *large_multiple))
    room = h.headroom(t)
    if large > 0.95 * room:
        large = 0.95 * room
        if large < large_multiple[0] * h.usual:
            return None
    kinds = ("digital", "donation", "giftcard")
    shared = rng.random() < same_merchant_share
    kind = kinds[int(rng.integers(3))]
    payee = f.names.brand(rng, kind)
    rows = []
    for _ in range(_count(rng, probes)):
        if not shared:
            kind = kinds[int(rng.integers(3))]
            payee = f.names.brand(rng, kind)
        amount = f.money(float(_loguniform(rng, *probe_amount)), rng, paise=rng.random() < 0.5)
        rows.append(NewRow(t, min(amount, probe_amount[1]), DEBIT, "probe", payee, MERCHANT_KINDS[kind][1],
                           "ONLINE", place))
        t += _MINUTE * float(rng.uniform(*probe_gap_minutes))
    t += _MINUTE * float(rng.uniform(*large_gap_minutes))
    kind = ("electronics", "jewellery", "giftcard", "luxury")[int(rng.integers(4))]
    rows.append(NewRow(t, f.money(large, rng), DEBIT, "large", f.names.brand(rng, kind), MERCHANT_KINDS[kind][1],
                       "ONLINE", place))
    return _event(rows, f)


def night_burst(h: CustomerHistory, f: FrameContext, rng: np.random.Generator, *,
                count: tuple[int, int] = (3, 5), multiple: tuple[float, float] = (4.0, 25.0),
                window_minutes: tuple[float, float] = (8, 60), hours: tuple[float, float] = (1.0, 4.0),
                away_share: float = 0.4) -> Event | None:
    """A stolen card or phone is spent fast while the customer sleeps.

    `count` debits within one window of `window_minutes`, all between `hours` (1–4 am), each `multiple`
    times the customer's usual, at new merchants (electronics, jewellery, gift cards, wallet top-ups, an ATM)
    in the customer's home place or, with `away_share`, a new city.
    """
    day = f.event_day(h, rng, days=1)
    if day is None or not np.isfinite(h.usual):
        return None
    n = _count(rng, count)
    window = float(rng.uniform(*window_minutes))
    first = float(rng.uniform(hours[0] * 60, hours[1] * 60 - window))
    offsets = np.sort(np.r_[0.0, rng.uniform(0, window, n - 1)])
    amounts = h.usual * _loguniform(rng, *multiple, size=n)
    start = day + _MINUTE * first
    if amounts.sum() > 0.95 * h.headroom(start):
        return None
    place = f.new_place(h, rng, 0.4)[0] if rng.random() < away_share else None
    rows = []
    for offset, amount in zip(offsets, amounts, strict=True):
        kind = ("electronics", "jewellery", "giftcard", "digital", "atm", "wallet")[int(rng.integers(6))]
        ts = (start + _MINUTE * float(offset)).floor("s")
        if kind == "atm":
            rows.append(NewRow(ts, _round_up(float(amount), 500), DEBIT, "burst", "ATM", "cash", "ATM", place))
        elif kind == "wallet":
            rows.append(NewRow(ts, _round_up(float(amount), 100), DEBIT, "burst", f.names.person(rng),
                               "transfers", "UPI", place))
        else:
            rail = ("POS", "ONLINE")[int(rng.integers(2))]
            rows.append(NewRow(ts, f.money(float(amount), rng), DEBIT, "burst", f.names.brand(rng, kind),
                               MERCHANT_KINDS[kind][1], rail, place))
    return _event(rows, f)


def rare_category_purchase(h: CustomerHistory, f: FrameContext, rng: np.random.Generator, *,
                           multiple: tuple[float, float] = (6.0, 30.0), max_share: float = 0.05,
                           away_share: float = 0.4) -> Event | None:
    """One purchase with a stolen card, far above the customer's own usual, in a category they rarely use.

    A single debit of `multiple` times the customer's usual at a new merchant whose category (shopping:
    electronics/jewellery/luxury; travel: flights; entertainment: tickets; other: gift cards) makes up at most
    `max_share` of the customer's debits of known category, at an ordinary hour (the frame's own shape), at
    home or, with `away_share`, in a new city. In a frame without categories it is a single large debit.
    """
    day = f.event_day(h, rng, days=1)
    if day is None or not np.isfinite(h.usual):
        return None
    kinds = {"shopping": ("electronics", "jewellery", "luxury"), "travel": ("airline",),
             "entertainment": ("tickets",), "other": ("giftcard",)}
    if f.has_category:
        share = h.category_share
        if not share:
            return None
        rare = [c for c in kinds if share.get(c, 0.0) <= max_share]
        if not rare:
            return None
        category = rare[int(rng.integers(len(rare)))]
    else:
        category = list(kinds)[int(rng.integers(len(kinds)))]
    kind = kinds[category][int(rng.integers(len(kinds[category])))]
    t = day + f.time_of_day(rng, (9, 23))
    amount = h.usual * float(_loguniform(rng, *multiple))
    if amount > 0.95 * h.headroom(t):
        return None
    place = f.new_place(h, rng, 0.4)[0] if rng.random() < away_share else None
    rail = ("POS", "ONLINE")[int(rng.integers(2))]
    return _event([NewRow(t, f.money(amount, rng), DEBIT, "purchase", f.names.brand(rng, kind), category, rail,
                          place)], f)


def atm_cashout(h: CustomerHistory, f: FrameContext, rng: np.random.Generator, *,
                count: tuple[int, int] = (2, 5), multiple: tuple[float, float] = (3.0, 10.0),
                limits: tuple[float, float] = (2_000.0, 20_000.0), window_minutes: tuple[float, float] = (4, 120),
                abroad_share: float = 0.35, midnight_share: float = 0.4) -> Event | None:
    """A skimmed or cloned card is emptied at ATMs in a city the customer has never been to.

    `count` withdrawals, each `multiple` times the customer's usual within the machine's `limits` (whole
    ₹500s at home; converted foreign currency, with paise, abroad), within `window_minutes`; a share
    `midnight_share` straddles midnight to get round a daily limit. Needs at least one withdrawal's worth of
    the lower limit to be `multiple[0]` times usual.
    """
    day = f.event_day(h, rng, days=2)
    if day is None or not np.isfinite(h.usual) or limits[1] < multiple[0] * h.usual:
        return None
    place, offset = f.new_place(h, rng, abroad_share)
    abroad = offset != 5.5 or place in dict(FOREIGN_CITIES)
    n = _count(rng, count)
    window = float(rng.uniform(*window_minutes))
    if rng.random() < midnight_share:
        start = day + pd.Timedelta(hours=24) - _MINUTE * float(rng.uniform(0, window))
    else:
        start = day + f.time_of_day(rng, bank_shape=False)
    offsets = np.sort(np.r_[0.0, rng.uniform(0, window, n - 1)])
    amounts = np.clip(h.usual * _loguniform(rng, *multiple, size=n), limits[0], limits[1])
    amounts = np.array([round(float(a) * float(rng.uniform(1.0, 1.03)), 2) if abroad else _round_to(float(a), 500)
                        for a in amounts])
    if amounts.min() < multiple[0] * h.usual or amounts.sum() > 0.95 * h.headroom(start):
        return None
    rows = [NewRow((start + _MINUTE * float(o)).floor("s"), float(a), DEBIT, "withdrawal", "ATM", "cash", "ATM", place)
            for o, a in zip(offsets, amounts, strict=True)]
    return _event(rows, f)


def payee_scam(h: CustomerHistory, f: FrameContext, rng: np.random.Generator, *,
               count: tuple[int, int] = (2, 6), first_multiple: tuple[float, float] = (2.0, 6.0),
               growth: tuple[float, float] = (1.2, 2.0), gap_minutes: tuple[float, float] = (5, 80)) -> Event | None:
    """The customer is talked into paying a stranger ("KYC update", "customs fee", "refund") again and again.

    Authorised push payments from the customer's own place and phone, starting between 9 am and 4 pm:
    `count` transfers to one payee the customer never paid, the first `first_multiple` times their usual,
    each `growth` times the previous, `gap_minutes` apart, mostly in whole ₹100s.
    """
    day = f.event_day(h, rng, days=1)
    if day is None or not np.isfinite(h.usual):
        return None
    n = _count(rng, count)
    t = day + f.time_of_day(rng, (9, 16))
    amounts = h.usual * float(rng.uniform(*first_multiple)) * np.cumprod(np.r_[1.0, rng.uniform(*growth, n - 1)])
    amounts = np.array([_round_to(float(a), 100 if rng.random() < 0.8 else 1) for a in amounts])
    if amounts.sum() > 0.95 * h.headroom(t):
        return None
    payee = f.names.person(rng)
    rail = ("UPI", "UPI", "IMPS")[int(rng.integers(3))]
    rows = []
    for a in amounts:
        rows.append(NewRow(t.floor("s"), float(a), DEBIT, "transfer", payee, "transfers", rail, None))
        t += _MINUTE * float(rng.uniform(*gap_minutes))
    return _event(rows, f)


# ------------------------------------------------------------------------------------------ genuine scenarios
def trip_abroad(h: CustomerHistory, f: FrameContext, rng: np.random.Generator, *,
                lead_days: tuple[int, int] = (3, 30), trip_days: tuple[int, int] = (3, 10),
                per_day: tuple[int, int] = (1, 4), multiple: tuple[float, float] = (0.3, 2.5),
                booking_multiple: tuple[float, float] = (1.5, 5.0), atm_share: float = 0.4) -> Event | None:
    """The customer's own holiday abroad, announced by a travel booking.

    A fair negative: the booking is in a category the customer already uses (two or more earlier travel
    debits; `booking_multiple` times their own median travel debit, at a new airline or travel agency, online,
    from home), and `lead_days` later the payments in that one foreign city over `trip_days` days are of the
    customer's usual size (`multiple` times usual, `per_day` a day, with paise: converted currency), at
    local waking hours (8 am–11:30 pm local, shifted to Indian time by the city's UTC offset, so a European
    evening is an Indian night), in everyday categories; optionally one ATM withdrawal of local cash.
    Nothing here is the few-large-fast shape of a takeover. Where the frame has no payee text there is no
    booking row (a bare large debit cannot show it was a flight); the trip itself is still injected.
    """
    if not np.isfinite(h.usual):
        return None
    rows: list[NewRow] = []
    nights = _count(rng, trip_days)
    lead = _count(rng, lead_days)
    day = f.event_day(h, rng, days=lead + nights + 1)
    if day is None:
        return None
    options = [(c, off) for c, off in FOREIGN_CITIES if c not in h.places]
    city, offset = options[int(rng.integers(len(options)))]
    if f.has_merchant:
        travel = h.amount[(~h.credit) & (h.category == "travel")] if f.has_category else np.array([])
        if f.has_category and len(travel) < 2:
            return None
        median = float(np.median(travel)) if len(travel) else 3 * h.usual
        kind = ("airline", "travel_agency", "hotel")[int(rng.integers(3))]
        name = f.names.brand(rng, kind, city)
        booked = day + f.time_of_day(rng, (8, 23))
        rows.append(NewRow(booked, f.money(median * float(rng.uniform(*booking_multiple)), rng), DEBIT, "booking",
                           name, "travel", "ONLINE", None))
    shift = pd.Timedelta(hours=5.5 - offset)
    first_day = day + pd.Timedelta(days=lead)
    atm_day = int(rng.integers(nights)) if rng.random() < atm_share else -1
    everyday = ("cafe", "cafe", "shop", "transport", "attraction", "minimart")
    for d in range(nights):
        local_day = first_day + pd.Timedelta(days=d)
        seconds = np.sort(rng.uniform(8 * 3600, 23.5 * 3600, _count(rng, per_day)).astype(np.int64))
        for local in (pd.Timestamp(local_day.value + int(x) * 10**9) for x in seconds):
            kind = everyday[int(rng.integers(len(everyday)))]
            rail = "ONLINE" if kind == "transport" and rng.random() < 0.5 else "POS"
            rows.append(NewRow((local + shift).floor("s"), round(h.usual * float(_loguniform(rng, *multiple)), 2),
                               DEBIT, "abroad", f.names.brand(rng, kind), MERCHANT_KINDS[kind][1], rail, city))
        if d == atm_day:
            local = local_day + pd.Timedelta(seconds=int(rng.uniform(10 * 3600, 20 * 3600)))
            rows.append(NewRow((local + shift).floor("s"), round(h.usual * float(rng.uniform(1.0, 2.5)), 2), DEBIT,
                               "abroad_cash", "ATM", "cash", "ATM", city))
    return _event(rows, f)


def salary_bonus(h: CustomerHistory, f: FrameContext, rng: np.random.Generator, *,
                 bonus_multiple: tuple[float, float] = (2.0, 6.0), new_salary: tuple[float, float] = (15_000, 150_000),
                 salary_months: tuple[int, int] = (2, 4)) -> Event | None:
    """Money in: a bonus several times the salary, from the employer that pays it; or a new job's salary.

    A fair negative by definition: a credit takes nothing from the customer, so it is never a "Was this
    you?". With a salary stream in the history (a steady monthly credit of ₹5,000+), one bonus of
    `bonus_multiple` times the salary from the same payee (its narration, sometimes with BONUS/INCENTIVE), a
    few days around a payday, at the payroll's hour. Without one (a thin or debit-only frame), a new employer
    pays `new_salary` (₹ a month) on a fixed payday for `salary_months` months, plus one bonus.
    """
    rows: list[NewRow] = []
    salary = h.salary
    if salary is not None:
        later = salary[len(salary) // 3:]
        pick = int(later[int(rng.integers(len(later)))])
        monthly = float(np.median(h.amount[salary]))
        when = pd.Timestamp(h.ts[pick]) + pd.Timedelta(days=int(rng.integers(-3, 11)),
                                                        minutes=float(rng.uniform(-90, 90)))
        text = str(h.merchant[pick])
        if rng.random() < 0.5:
            text = f"{text} {('BONUS', 'INCENTIVE', 'PERF BONUS', 'ANNUAL BONUS')[int(rng.integers(4))]}"
        amount = _round_to(monthly * float(rng.uniform(*bonus_multiple)), 100 if rng.random() < 0.5 else 1)
        rows.append(NewRow(when.floor("s"), amount, CREDIT, "bonus", None, "income", h.channel[pick],
                           h.location[pick], merchant_text=text))
        return _event(rows, f)
    months = _count(rng, salary_months)
    payday = int(rng.integers(1, 8)) if rng.random() < 0.5 else int(rng.integers(25, 29))
    employer = f"SALARY {f.names.employer(rng)}" if rng.random() < 0.5 else f.names.employer(rng)
    monthly = _round_to(float(_loguniform(rng, *new_salary)), 1)
    last = f.end.to_period("M") if f.end.day >= payday else f.end.to_period("M") - 1
    periods = [last - k for k in range(months)][::-1]
    hour = float(rng.uniform(9, 14))
    for period in periods:
        day = pd.Timestamp(year=period.year, month=period.month, day=min(payday, period.days_in_month))
        ts = day + pd.Timedelta(hours=hour, minutes=float(rng.uniform(-40, 40)))
        if ts >= pd.Timestamp(h.ts[0]):
            rows.append(NewRow(ts.floor("s"), monthly, CREDIT, "salary", employer, "income", "NEFT", None))
    if not rows:
        return None
    pick = rows[int(rng.integers(len(rows)))]
    bonus = _round_to(monthly * float(rng.uniform(*bonus_multiple)), 100)
    rows.append(NewRow(pick.ts + pd.Timedelta(days=int(rng.integers(0, 6)), minutes=7), bonus, CREDIT, "bonus",
                       f"{employer} BONUS" if rng.random() < 0.5 else employer, "income", "NEFT", None))
    return _event(sorted(rows, key=lambda r: r.ts), f)


def family_transfer(h: CustomerHistory, f: FrameContext, rng: np.random.Generator, *,
                    multiple: tuple[float, float] = (2.0, 6.0), second_share: float = 0.3,
                    second_after_days: tuple[int, int] = (2, 20)) -> Event | None:
    """The customer sends money to a person they have not paid before: a relative, a friend, a wedding gift.

    A fair negative: one transfer of `multiple` times the customer's usual (a second one to the same person
    `second_after_days` later with `second_share`), from home, in the daytime, in whole rupees -- not the
    run of escalating payments within hours of a scam, nor a new place as in a takeover. Person payees
    appear in the fraud scenarios too, so "pays a person" is not the tell.
    """
    day = f.event_day(h, rng, days=second_after_days[1] + 1)
    if day is None or not np.isfinite(h.usual):
        return None
    payee = f.names.person(rng)
    rail = ("UPI", "IMPS", "NEFT")[int(rng.integers(3))]
    times = [day + f.time_of_day(rng, (9, 21))]
    if rng.random() < second_share:
        times.append(times[0].normalize() + pd.Timedelta(days=_count(rng, second_after_days))
                     + f.time_of_day(rng, (9, 21)))
    rows = [NewRow(t, _round_to(h.usual * float(_loguniform(rng, *multiple)), 100 if rng.random() < 0.6 else 1),
                   DEBIT, "transfer", payee, "transfers", rail, None) for t in times]
    if sum(r.amount for r in rows) > 0.95 * h.headroom(times[0]):
        return None
    return _event(rows, f)


def annual_premium(h: CustomerHistory, f: FrameContext, rng: np.random.Generator, *,
                   of_salary: tuple[float, float] = (0.15, 1.0), premium: tuple[float, float] = (6_000, 60_000),
                   renewal_share: float = 0.5, raise_range: tuple[float, float] = (0.0, 0.08)) -> Event | None:
    """A yearly insurance premium paid by auto-debit to an insurer many of the bank's customers pay.

    A fair negative: the payee is a known biller shared by many customers (six insurers per injection), the
    debit posts in the morning (6–11:30 am) from home by standing instruction, and its size is in line with
    income (`of_salary` times the customer's salary, else `premium` ₹). With `renewal_share`, when the
    history reaches back a year, last year's premium to the same insurer is there too (this year's is
    `raise_range` higher). Needs payee text: a bare large debit cannot show it is a premium.
    """
    if not f.has_merchant:
        return None
    day = f.event_day(h, rng, days=1)
    if day is None:
        return None
    salary = h.salary
    base = (float(np.median(h.amount[salary])) * float(rng.uniform(*of_salary)) if salary is not None
            else float(_loguniform(rng, *premium)))
    amount = _round_to(base, 1 if rng.random() < 0.6 else 10)
    insurer = f.names.insurers[int(rng.integers(len(f.names.insurers)))]
    category = "health" if "HEALTH" in insurer else "other"
    rows = []
    last_year = day - pd.Timedelta(days=365 + int(rng.integers(-3, 4)))
    if rng.random() < renewal_share and last_year >= pd.Timestamp(h.ts[0]).normalize():
        earlier = amount / (1 + float(rng.uniform(*raise_range)))
        rows.append(NewRow(last_year + f.time_of_day(rng, (6, 11.5), bank_shape=False), round(earlier, 2), DEBIT,
                           "premium_last_year", insurer, category, "AUTO", None))
    t = day + f.time_of_day(rng, (6, 11.5), bank_shape=False)
    if amount > 0.95 * h.headroom(t):
        return None
    rows.append(NewRow(t, amount, DEBIT, "premium", insurer, category, "AUTO", None))
    return _event(rows, f)


def rent_increase(h: CustomerHistory, f: FrameContext, rng: np.random.Generator, *,
                  raise_range: tuple[float, float] = (0.10, 0.20), round_to: tuple[float, ...] = (100.0, 500.0),
                  ) -> Event | None:
    """The landlord raises the rent: the same payee, from one month on, `raise_range` more, rounded.

    A fair negative: the payee, day of month, rail and place are those of the customer's existing rent
    (four or more months of it), and the new amount (rounded to ₹`round_to` as landlords do) stays the same
    every month after the rise (the rounding is dropped where it would leave the range). The old payments
    from that month on are replaced (`Injection.removed`).
    Needs payee text to find the landlord.
    """
    rent = h.rent
    if rent is None or not f.has_merchant:
        return None
    first = int(rng.integers(2, len(rent) - 1))
    old = float(np.median(h.amount[rent]))
    raised = old * (1 + float(rng.uniform(*raise_range)))
    new_amount = round(raised, 2)
    for step in (float(round_to[int(rng.integers(len(round_to)))]), 100.0, 10.0):
        rounded = _round_to(raised, step)
        if 1 + raise_range[0] <= rounded / old <= 1 + raise_range[1]:  # rounding never leaves the stated range
            new_amount = rounded
            break
    rows = [NewRow(pd.Timestamp(h.ts[i]), new_amount, DEBIT, "raised_rent", None, h.category[i], h.channel[i],
                   h.location[i], merchant_text=str(h.merchant[i])) for i in rent[first:]]
    return _event(rows, f, replaces=tuple(int(h.positions[i]) for i in rent[first:]))


def planned_purchase(h: CustomerHistory, f: FrameContext, rng: np.random.Generator, *,
                     price: tuple[float, float] = (20_000, 250_000), loan_share: float = 0.6,
                     emi_months: tuple[int, int] = (6, 12), interest: tuple[float, float] = (0.06, 0.16),
                     days_after: tuple[int, int] = (0, 4)) -> Event | None:
    """A big-ticket purchase the money was raised for: a loan or a matured deposit, then the purchase.

    A fair negative: a credit of about the price arrives first (a consumer loan from a lender, with
    `loan_share`; else a fixed-deposit maturity), and `days_after` days later the customer pays ~85–100% of
    it at an electronics, furniture or two-wheeler dealer, from home, in the daytime. A loan is then repaid
    by monthly EMIs to the same lender by auto-debit (`emi_months` months, `interest` total, as many as the
    frame's dates reach). The purchase's price is `price` ₹.
    """
    day = f.event_day(h, rng, days=days_after[1] + 1)
    if day is None:
        return None
    amount = _round_to(float(_loguniform(rng, *price)), 100)
    loan = rng.random() < loan_share
    lender = f.names.lenders[int(rng.integers(len(f.names.lenders)))]
    source = (f"{lender} LOAN DISB" if loan else
              ("FD MATURITY PROCEEDS", "TD CLOSURE PROCEEDS", "RD MATURITY CREDIT")[int(rng.integers(3))])
    credited = day + f.time_of_day(rng, (10, 17), bank_shape=False)
    rows = [NewRow(credited, amount, CREDIT, "funding", source, "income", "NEFT" if loan else "BANK", None)]
    kind = ("electronics", "furniture", "two_wheeler")[int(rng.integers(3))]
    bought = credited.normalize() + pd.Timedelta(days=_count(rng, days_after)) + f.time_of_day(rng, (10, 21))
    if bought <= credited:
        bought = credited + _MINUTE * float(rng.uniform(20, 240))
    paid = _round_to(amount * float(rng.uniform(0.85, 1.0)), 1)
    rail = ("POS", "ONLINE", "NEFT")[int(rng.integers(3))]
    rows.append(NewRow(bought.floor("s"), paid, DEBIT, "purchase", f.names.brand(rng, kind), "shopping", rail, None))
    if loan:
        n = _count(rng, emi_months)
        emi = _round_to(amount * (1 + float(rng.uniform(*interest))) / n, 1)
        due = bought.normalize() + pd.DateOffset(months=1)
        for _ in range(n):
            ts = due + f.time_of_day(rng, (6, 11), bank_shape=False)
            if ts > f.last_moment:
                break
            rows.append(NewRow(ts, emi, DEBIT, "emi", lender, "transfers", "AUTO", None))
            due = due + pd.DateOffset(months=1)
    return _event(rows, f)


SCENARIOS: Final = {s.name: s for s in (
    Scenario("account_takeover", account_takeover, True),
    Scenario("card_testing", card_testing, True),
    Scenario("night_burst", night_burst, True),
    Scenario("rare_category_purchase", rare_category_purchase, True),
    Scenario("atm_cashout", atm_cashout, True),
    Scenario("payee_scam", payee_scam, True),
    Scenario("trip_abroad", trip_abroad, False),
    Scenario("salary_bonus", salary_bonus, False),
    Scenario("family_transfer", family_transfer, False),
    Scenario("annual_premium", annual_premium, False, needs_merchant=True),
    Scenario("rent_increase", rent_increase, False, needs_merchant=True),
    Scenario("planned_purchase", planned_purchase, False),
)}
FRAUD_SCENARIOS: Final = tuple(n for n, s in SCENARIOS.items() if s.is_fraud)
GENUINE_SCENARIOS: Final = tuple(n for n, s in SCENARIOS.items() if not s.is_fraud)


# ------------------------------------------------------------------------------------------ the injector
def inject_scenarios(frame: pd.DataFrame, *, seed: int = 0, per_scenario: int | Mapping[str, int] = 50,
                     scenarios: Sequence[str] | None = None, min_history: int = 20,
                     customers: Iterable[str] | None = None, max_scan: int = 3_000) -> Injection:
    """Inject labelled scenario instances into a canonical frame; one instance per customer, seeded.

    Parameters
    ----------
    frame : canonical transactions (TXN_COLUMNS); not modified.
    seed : same frame and seed, same result (each scenario draws from its own stream).
    per_scenario : instances wanted per scenario (an int, or a mapping by scenario name); fewer are made
        when too few customers qualify (see `summary`).
    scenarios : names from `SCENARIOS` (default all); those that need what the frame lacks are skipped.
    min_history : customers need this many debits (on the public file, where 84% of IDs have one row,
        pass 3-4); events start after the first third of a customer's history.
    customers : restrict to these customer IDs (e.g. to keep clear of a generator's own fraud).
    max_scan : customers tried per instance before a scenario is given up.

    Returns
    -------
    Injection(frame, labels, removed, summary). New transaction IDs continue the frame's own numbering
    (most common prefix, above its largest number) in shuffled order, so they never collide and their
    order says nothing. In a ledger frame (each balance = previous + signed amount) every balance of a
    touched customer is recomputed so the ledger still holds; otherwise an injected row gets the last
    reported balance plus the event's own movements since (empty if that would be negative). Injected rows
    leave empty the fields the frame never fills, and leave balance and category empty about as often as
    the frame does.
    """
    names = list(SCENARIOS) if scenarios is None else list(scenarios)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    frame = frame.reset_index(drop=True)
    codes, uniques = pd.factorize(frame["customer_id"], use_na_sentinel=True)
    context = FrameContext(frame, codes, np.random.default_rng([seed, 0]))
    wanted = {n: int(per_scenario.get(n, 0) if isinstance(per_scenario, Mapping) else per_scenario) for n in names}
    active = [n for n in names if SCENARIOS[n].applies(context) and wanted[n] > 0]

    debit = (frame["txn_type"] != CREDIT).to_numpy() & (frame["amount"].to_numpy() > 0)
    debits_per = np.bincount(codes[debit & (codes >= 0)], minlength=len(uniques))
    ok = debits_per >= min_history
    if customers is not None:
        ok &= pd.Index(uniques).isin(pd.Index(list(customers)))
    pool = np.flatnonzero(ok)
    pool = pool[np.random.default_rng([seed, 1]).permutation(len(pool))]
    by_code = _positions_by_code(codes, pool)
    cols = _columns(frame)

    histories: dict[int, CustomerHistory] = {}
    streams = {n: np.random.default_rng([seed, zlib.crc32(n.encode())]) for n in active}
    cursor = dict.fromkeys(active, 0)
    made = dict.fromkeys(names, 0)
    used: set[int] = set()
    events: list[tuple[str, int, Event]] = []
    open_ = list(active)
    while open_:
        for name in list(open_):
            found = None
            scanned = 0
            while cursor[name] < len(pool) and scanned < max_scan:
                code = int(pool[cursor[name]])
                cursor[name] += 1
                if code in used:
                    continue
                scanned += 1
                h = histories.get(code)
                if h is None:
                    h = histories[code] = CustomerHistory(str(uniques[code]), by_code[code], cols, context)
                event = SCENARIOS[name].make(h, context, streams[name])
                if event is not None and context.feasible(h, event):
                    found = event
                    break
            if found is None:
                open_.remove(name)
                continue
            used.add(code)
            events.append((name, code, found))
            made[name] += 1
            if made[name] >= wanted[name]:
                open_.remove(name)
    return _assemble(frame, context, events, histories, seed, names, wanted, made)


def _positions_by_code(codes: np.ndarray, wanted: np.ndarray) -> dict[int, np.ndarray]:
    keep = np.zeros(int(codes.max()) + 2, dtype=bool)
    keep[wanted] = True
    rows = np.flatnonzero(keep[codes])
    sub = codes[rows]
    order = np.argsort(sub, kind="stable")
    rows, sub = rows[order], sub[order]
    cuts = np.flatnonzero(np.r_[True, sub[1:] != sub[:-1]])
    return {int(sub[s]): rows[s:e] for s, e in zip(cuts, np.r_[cuts[1:], len(rows)], strict=True)}


def _columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
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


def _new_ids(existing: pd.Series, n: int, rng: np.random.Generator) -> list[str]:
    """IDs continuing the frame's most common `<prefix><number>` form, above its largest number, shuffled."""
    text = existing.astype(str)
    prefixes = text.sample(min(len(text), 5_000), random_state=0).str.extract(r"^(\D*)\d+$")[0].dropna()
    prefix = str(prefixes.mode().iloc[0]) if len(prefixes) else "T"
    tails = text[text.str.startswith(prefix)].str.slice(len(prefix))
    tails = tails[tails.str.isdigit()].str.lstrip("0")
    longest = tails[tails.str.len() == tails.str.len().max()] if len(tails) else tails
    top = int(longest.max() or 0) if len(longest) else 0
    ids = [f"{prefix}{top + 1 + int(i)}" for i in rng.permutation(n)]
    if pd.Index(text).isin(ids).any():  # cannot happen above the maximum; checked all the same
        raise AssertionError("injected transaction IDs collide with the frame's")
    return ids


def _assemble(frame: pd.DataFrame, context: FrameContext, events: list[tuple[str, int, Event]],
              histories: Mapping[int, CustomerHistory], seed: int, names: Sequence[str],
              wanted: Mapping[str, int], made: Mapping[str, int]) -> Injection:
    rng = np.random.default_rng([seed, 2])
    n_new = sum(len(e.rows) for _, _, e in events)
    ids = _new_ids(frame["transaction_id"], n_new, rng)
    records: list[dict[str, object]] = []
    labels: list[dict[str, object]] = []
    removed_positions: list[int] = []
    new_balance: list[tuple[np.ndarray, np.ndarray]] = []   # (original positions, recomputed balances): ledger
    k = 0
    for event_no, (name, code, event) in enumerate(events):
        h = histories[code]
        removed_positions.extend(event.replaces)
        start = len(records)
        for row in sorted(event.rows, key=lambda r: r.ts.value):
            i = h.latest_index(row.ts)
            place = row.location if row.location is not None else h.home
            merchant = row.merchant_text
            if merchant is None and context.has_merchant and row.payee is not None:
                merchant = narration(row.payee, row.channel, place, rng)
            records.append({
                "transaction_id": ids[k], "customer_id": h.customer_id, "ts": row.ts.floor("s"),
                "amount": round(float(row.amount), 2), "balance": np.nan, "txn_type": row.txn_type,
                "merchant": merchant if context.has_merchant else None,
                "category": (row.category if row.merchant_text is not None and context.has_category
                             else context.category(row.category, row.txn_type, rng)),
                "channel": (row.channel if row.merchant_text is not None else context.channel(row.channel or ""))
                if context.has_channel else None,
                "location": place if context.has_location else None,
                "dob": h.dob[i], "gender": h.gender[i],
                "_anchor": int(h.positions[i]) if h.ts_ns[i] <= row.ts.value else int(h.positions[0]) - 0.5,
            })
            labels.append({"transaction_id": ids[k], "scenario": name, "is_fraud": int(SCENARIOS[name].is_fraud),
                           "customer_id": h.customer_id, "event": event_no, "step": row.step})
            k += 1
        _balances(h, event, records[start:], context, rng, new_balance)

    out = frame.copy()
    if new_balance:
        positions = np.concatenate([p for p, _ in new_balance])
        values = np.concatenate([v for _, v in new_balance])
        balance = out["balance"].to_numpy(dtype=float, copy=True)
        balance[positions] = values
        out["balance"] = balance
    removed = np.array(sorted(set(removed_positions)), dtype=np.int64)
    removed_ids = tuple(str(x) for x in out["transaction_id"].to_numpy()[removed])
    key = np.arange(len(out), dtype=float)
    if len(removed):
        keep = np.ones(len(out), dtype=bool)
        keep[removed] = False
        out, key = out[keep], key[keep]
    injected = pd.DataFrame(records, columns=[*TXN_COLUMNS, "_anchor"]) if records else None
    if injected is not None:
        anchor = injected.pop("_anchor").to_numpy(dtype=float)
        injected["ts"] = pd.to_datetime(injected["ts"]).astype("datetime64[ns]")
        injected["dob"] = pd.to_datetime(injected["dob"]).astype("datetime64[ns]")
        for column in ("transaction_id", "customer_id", "txn_type", "merchant", "category", "channel", "location",
                       "gender"):
            injected[column] = pd.Series(injected[column].to_numpy(dtype=object), dtype=object)
        for column in ("amount", "balance"):
            injected[column] = injected[column].astype(float)
        # Each injected row sits right after its customer's latest original row at or before it, in time order.
        combined = pd.concat([out, injected], ignore_index=True)
        sort_anchor = np.r_[key, anchor]
        sort_is_new = np.r_[np.zeros(len(out)), np.ones(len(injected))]
        sort_ts = combined["ts"].to_numpy().astype(np.int64)
        sort_seq = np.arange(len(combined))
        out = combined.iloc[np.lexsort((sort_seq, sort_ts, sort_is_new, sort_anchor))]
    out = out.reset_index(drop=True)
    label_frame = pd.DataFrame(labels, columns=list(LABEL_COLUMNS))
    label_frame["is_fraud"] = label_frame["is_fraud"].astype(np.int8)
    label_frame["event"] = label_frame["event"].astype(np.int64)
    counts = label_frame.groupby("scenario").size() if len(label_frame) else pd.Series(dtype=int)
    summary = pd.DataFrame([{
        "scenario": n, "is_fraud": SCENARIOS[n].is_fraud, "applicable": SCENARIOS[n].applies(context),
        "requested": wanted[n], "events": made[n], "rows": int(counts.get(n, 0)),
    } for n in names], columns=list(SUMMARY_COLUMNS))
    return Injection(out, label_frame, removed_ids, summary)


def _balances(h: CustomerHistory, event: Event, records: list[dict[str, object]], context: FrameContext,
              rng: np.random.Generator, new_balance: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Fill the injected rows' balances and, in a ledger, recompute every later balance of the customer."""
    if not np.isfinite(h.levels).any():
        return
    times = np.array([pd.Timestamp(r["ts"]).value for r in records], dtype=np.int64)
    signed = np.array([float(r["amount"]) * (1 if r["txn_type"] == CREDIT else -1) for r in records])
    if context.ledger:
        replaced = np.isin(h.positions, np.array(event.replaces, dtype=np.int64))
        # Originals first at equal times, as the output orders them.
        all_ts = np.r_[h.ts_ns, times]
        kind = np.r_[np.zeros(len(h.ts_ns)), np.ones(len(times))]
        order = np.lexsort((np.arange(len(all_ts)), kind, all_ts))
        present_signed = np.r_[np.where(replaced, 0.0, h.signed), signed][order]
        original_signed = np.r_[h.signed, np.zeros(len(times))][order]
        level = np.r_[h.levels, np.full(len(times), np.nan)][order]
        opening = _fill(level - np.cumsum(original_signed))
        balance = np.round(opening + np.cumsum(present_signed), 2)
        back = np.empty(len(order), dtype=np.int64)
        back[order] = np.arange(len(order))
        mine = balance[back[:len(h.ts_ns)]]
        reported = ~replaced & ~np.isnan(h.balance)
        new_balance.append((h.positions[reported], mine[reported]))
        theirs = balance[back[len(h.ts_ns):]]
    else:
        anchor = np.searchsorted(h.ts_ns, times, side="right") - 1
        base = np.where(anchor >= 0, h.levels[np.maximum(anchor, 0)], h.opening)
        theirs = np.empty(len(times))
        for j in range(len(times)):
            same = (anchor == anchor[j]) & (np.arange(len(times)) <= j)
            theirs[j] = round(float(base[j] + signed[same].sum()), 2)
        theirs = np.where(theirs < 0, np.nan, theirs)
    for record, value in zip(records, theirs, strict=True):
        record["balance"] = np.nan if rng.random() < context.balance_missing else float(value)
