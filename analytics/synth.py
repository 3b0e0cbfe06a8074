"""A deterministic synthetic Indian bank in the raw contract format, with ground truth for fraud, persona and churn.

The public data set has almost one transaction per customer over ten weeks: too thin for monthly trends, churn
or per-customer fraud baselines. This bank has what it lacks (multi-month histories, salaries and bills,
personas, drifting customers, injected fraud) while keeping the raw file's look: day-first `d/m/yy` dates,
`HHMMSS` times without leading zeros, `1/1/1800` unknown DOBs, a few empty genders and balances.

IDs never collide with the public file: customers are C9100000 upwards (the public file ends at C9099956),
transactions T9000001 upwards (the public file ends at T1048567). Two synthetic banks share that space, so
do not ingest two seeds into one store.

Everything is vectorised with numpy; one `numpy.random.Generator` seeded once makes the output a pure
function of the arguments (same arguments -> byte-identical CSV).
"""

from __future__ import annotations

import datetime as dt
import gzip
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.schema import CATEGORIES, RAW_OPTIONAL_COLUMNS, RAW_REQUIRED_COLUMNS
from analytics.synth_params import (
    AMOUNT_PARAMS,
    CATEGORY_ALIASES,
    CHANNEL_WEIGHTS,
    CHANNELS,
    CITIES,
    DISCRETIONARY_CATEGORIES,
    EMPLOYERS_FALLBACK,
    FALLBACK_MERCHANTS,
    FOREIGN_CITIES,
    HOUR_WEIGHTS,
    INVESTMENT_PAYEES,
    PERSONAS,
    PHONE_PLANS,
    SUBSCRIPTIONS,
)

log = logging.getLogger(__name__)

DEFAULT_MERCHANTS_PATH = Path(__file__).resolve().parent.parent / "data" / "merchants.csv"
FIRST_TRANSACTION_NUMBER = 9_000_001
FIRST_CUSTOMER_NUMBER = 9_100_000
FRAUD_KINDS = ("amount", "new_city", "odd_hour", "burst")
FRAUD_ROW_RATE = 0.007          # share of all rows that are injected fraud (bursts count every row)
UNCATEGORIZED_DEBIT_RATE = 0.20  # debit rows whose Category is left empty for the categorizer
ALIAS_RATE = 0.06               # filled Category values written as a bank synonym ("Food", "Petrol")
EMPTY_BALANCE_RATE = 0.01
UNKNOWN_DOB_RATE = 0.02
EMPTY_GENDER_RATE = 0.003
RAW_COLUMNS = RAW_REQUIRED_COLUMNS + RAW_OPTIONAL_COLUMNS
TXN_LABEL_COLUMNS = ("TransactionID", "is_fraud", "fraud_kind", "fraud_signals")
CUSTOMER_LABEL_COLUMNS = ("CustomerID", "persona", "churned", "churn_date")

_CAT = {name: i for i, name in enumerate(CATEGORIES)}
_CHAN = {name: i for i, name in enumerate(CHANNELS)}
_ALL_CITIES = np.array([c for c, _ in CITIES] + list(FOREIGN_CITIES), dtype=object)
_N_DOMESTIC = len(CITIES)


@dataclass(frozen=True)
class SynthBank:
    """One generated bank: raw-format transactions and the ground truth the models are judged against."""

    transactions: pd.DataFrame     # RAW_COLUMNS, values formatted as the raw file writes them (strings/ints)
    txn_labels: pd.DataFrame       # TransactionID, is_fraud (0/1), fraud_kind ('' or one of FRAUD_KINDS), fraud_signals
    customer_labels: pd.DataFrame  # CustomerID, persona, churned (0/1), churn_date (ISO, '' when not churned)
    start: dt.date
    end: dt.date


def load_merchants(path: str | Path) -> pd.DataFrame:
    """Read a `merchant,category` CSV; names upper-cased and stripped, unknown categories dropped."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"merchant", "category"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
    frame = frame.assign(merchant=frame["merchant"].str.strip().str.upper(),
                         category=frame["category"].str.strip().str.lower())
    frame = frame[(frame["merchant"] != "") & frame["category"].isin(CATEGORIES)]
    return frame[["merchant", "category"]].drop_duplicates().reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- helpers


def _pick(rng: np.random.Generator, cum: np.ndarray) -> np.ndarray:
    """One index per row of `cum` (rows of cumulative probabilities ending at 1)."""
    u = rng.random(cum.shape[0])
    return np.minimum((u[:, None] >= cum).sum(axis=1), cum.shape[1] - 1)


def _cumulative(weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.cumsum(w / w.sum(axis=-1, keepdims=True), axis=-1)


def _cents(rupees: np.ndarray, rng: np.random.Generator, whole_share: float = 0.88) -> np.ndarray:
    """Rupees to integer paise; `whole_share` of amounts are whole rupees (88% in the public file)."""
    cents = np.maximum(np.round(rupees * 100), 100).astype(np.int64)
    whole = rng.random(cents.size) < whole_share
    return np.where(whole, np.maximum(np.round(cents / 100), 1).astype(np.int64) * 100, cents)


def _format_money(cents: np.ndarray) -> np.ndarray:
    """Paise to the raw file's amount text: `25`, `459.5`, `17819.05` (no trailing zeros)."""
    suffix = np.array([""] + [f".{f:02d}".rstrip("0") for f in range(1, 100)], dtype=object)
    whole = (cents // 100).astype(str).tolist()
    return np.array([w + f for w, f in zip(whole, suffix[cents % 100].tolist(), strict=True)], dtype=object)


def _day_first(dates: pd.DatetimeIndex) -> np.ndarray:
    """Dates as the raw file writes them: `2/8/16` (day/month/two-digit year, no leading zeros)."""
    return np.array([f"{d.day}/{d.month}/{d.year % 100:02d}" for d in dates], dtype=object)


@dataclass(frozen=True)
class _Merchants:
    """Merchant names per contract category, flattened for vectorised lookup."""

    flat: np.ndarray     # object array of names
    offset: np.ndarray   # per CATEGORIES index
    count: np.ndarray

    @classmethod
    def build(cls, merchants: pd.DataFrame | None) -> _Merchants:
        groups: dict[str, list[str]] = {}
        if merchants is not None:
            for name, cat in zip(merchants["merchant"], merchants["category"], strict=True):
                groups.setdefault(str(cat), []).append(str(name))
        names: list[str] = []
        offset, count = [], []
        for cat in CATEGORIES:
            pool = groups.get(cat) or list(FALLBACK_MERCHANTS.get(cat, ("PAYMENT",)))
            offset.append(len(names))
            count.append(len(pool))
            names.extend(pool)
        return cls(np.array(names, dtype=object), np.array(offset), np.array(count))

    def pool(self, category: str) -> np.ndarray:
        i = _CAT[category]
        return self.flat[self.offset[i]: self.offset[i] + self.count[i]]

    def matching(self, category: str, words: tuple[str, ...], fallback: tuple[str, ...]) -> np.ndarray:
        """Names of `category` containing any of `words`; `fallback` when none do."""
        found = [n for n in self.pool(category) if any(w in n for w in words)]
        return np.array(found or list(fallback), dtype=object)


class _Rows:
    """Columns of generated rows, appended part by part and concatenated once."""

    FIELDS = ("cust", "day", "sec", "cents", "credit", "cat", "chan", "name", "city", "kind", "kind2", "disc")

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, **cols: np.ndarray) -> None:
        n = len(cols["cust"])
        part = {"kind": np.zeros(n, np.int8), "kind2": np.zeros(n, np.int8), "disc": np.zeros(n, bool)}
        part.update(cols)
        for key in ("cat", "chan"):
            if np.ndim(part[key]) == 0:
                part[key] = np.full(n, part[key], dtype=np.int64)
        if np.ndim(part["credit"]) == 0:
            part["credit"] = np.full(n, bool(part["credit"]))
        assert set(part) == set(self.FIELDS), set(part) ^ set(self.FIELDS)
        self.parts.append(part)

    def concat(self) -> dict[str, np.ndarray]:
        return {f: np.concatenate([p[f] for p in self.parts]) for f in self.FIELDS}


# ----------------------------------------------------------------------------------------------- the bank


class _BankBuilder:
    """Generates one bank; each method adds one family of rows."""

    def __init__(self, customers: int, months: int, seed: int, end: dt.date, merchants: pd.DataFrame | None,
                 activity: float = 1.0):
        self.activity = activity
        self.rng = np.random.default_rng(seed)
        self.end = end
        self.start = (pd.Timestamp(end) + pd.Timedelta(days=1) - pd.DateOffset(months=months)).date()
        self.n_days = (end - self.start).days + 1
        self.merchants = _Merchants.build(merchants)
        self.rows = _Rows()
        self.hour_cum = _cumulative(HOUR_WEIGHTS)
        self._customers(customers)
        self._calendar()

    # -- customers ----------------------------------------------------------------------------------
    def _customers(self, n: int) -> None:
        rng = self.rng
        self.n = n
        shares = np.array([p.share for p in PERSONAS])
        self.persona = np.searchsorted(_cumulative(shares), rng.random(n), side="right").clip(0, len(PERSONAS) - 1)
        par = {f: np.array([getattr(p, f) for p in PERSONAS]) for f in (
            "income", "income_sigma", "opening_balance", "debits_per_month", "spend_ratio", "rent_prob", "rent",
            "subscription_prob", "sip_prob", "churn_prob")}
        self.par = par
        pp = self.persona
        self.income = par["income"][pp] * rng.lognormal(0, par["income_sigma"][pp])
        self.opening = par["opening_balance"][pp] * rng.lognormal(0, 0.6, n)
        self.rate = par["debits_per_month"][pp] * rng.lognormal(0, 0.35, n) * self.activity
        self.spend_ratio = np.clip(par["spend_ratio"][pp] + rng.normal(0, 0.05, n), 0.3, 1.05)
        self.fav = rng.integers(0, 1 << 20, n)
        city_cum = _cumulative(np.array([w for _, w in CITIES]))
        self.home = np.searchsorted(city_cum, rng.random(n), side="right").clip(0, _N_DOMESTIC - 1)
        second = np.searchsorted(city_cum, rng.random(n), side="right").clip(0, _N_DOMESTIC - 1)
        self.second = np.where(second == self.home, (self.home + 1) % _N_DOMESTIC, second)

        # Churn: activity fades over 60-90 days, then stops for good at `stop` (a day index, exclusive).
        nd = self.n_days
        self.churned = rng.random(n) < par["churn_prob"][pp]
        late = rng.random(n) < 0.35  # recent leavers: stopped 30-60 days before the end
        early_lo = min(120, nd // 3)
        early = rng.integers(early_lo, max(early_lo + 1, nd - 60), n)
        stop = np.where(late, nd - rng.integers(30, 61, n), early).clip(max(1, nd // 4), nd - 1)
        self.stop = np.where(self.churned, stop, nd)
        self.decline_start = np.where(self.churned, np.maximum(self.stop - rng.integers(60, 91, n), 0), nd)
        self.salary_moved = self.churned & (rng.random(n) < 0.7)

        self.customer_ids = self._customer_ids(n)

    def _customer_ids(self, n: int) -> np.ndarray:
        space = 9_999_999 - FIRST_CUSTOMER_NUMBER + 1
        if n <= space:
            numbers = FIRST_CUSTOMER_NUMBER + self.rng.choice(space, n, replace=False)
        else:  # more customers than 7 digits allow above the public range: 8 digits
            numbers = 10_000_000 + self.rng.choice(90_000_000, n, replace=False)
        return np.array([f"C{x}" for x in numbers], dtype=object)

    def _calendar(self) -> None:
        first = pd.Timestamp(self.start).replace(day=1)
        months = pd.date_range(first, pd.Timestamp(self.end), freq="MS")
        self.month_first = np.array([(m.date() - self.start).days for m in months])
        self.month_len = np.array(months.days_in_month)
        self.month_number = np.array(months.month)

    def intensity(self, cust: np.ndarray, day: np.ndarray) -> np.ndarray:
        """1 while active, fading linearly to 0.15 over a churner's decline, 0 from the stop day."""
        ds, stop = self.decline_start[cust], self.stop[cust]
        frac = np.clip((day - ds) / np.maximum(stop - ds, 1), 0, 1)
        return np.where(day >= stop, 0.0, np.where(day < ds, 1.0, 1 - 0.85 * frac))

    def times(self, n: int, hours: tuple[int, int] | None = None) -> np.ndarray:
        """Seconds after midnight: genuine hour-of-day shape, or uniform over `hours` (inclusive)."""
        if hours is None:
            hour = np.searchsorted(self.hour_cum, self.rng.random(n), side="right").clip(0, 23)
        else:
            hour = self.rng.integers(hours[0], hours[1] + 1, n)
        return hour * 3600 + self.rng.integers(0, 3600, n)

    # -- recurring rows -----------------------------------------------------------------------------
    def _monthly(self, custs: np.ndarray, dom: np.ndarray, rupees: np.ndarray, jitter: float, *, credit: bool,
                 cat: str, chan: np.ndarray | int, name: np.ndarray, months: np.ndarray | None = None,
                 hours: tuple[int, int] | None = None, fade: bool = True,
                 until: np.ndarray | None = None) -> None:
        """One row per customer per month on day-of-month `dom` (clipped to the month's end), before `until`."""
        m_idx = np.arange(len(self.month_first)) if months is None else months
        k = len(custs)
        mi = np.tile(m_idx, k)
        ci = np.repeat(np.arange(k), len(m_idx))
        cust = custs[ci]
        day = self.month_first[mi] + np.minimum(dom[ci], self.month_len[mi]) - 1
        keep = (day >= 0) & (day < (self.stop if until is None else until)[cust])
        if fade:
            keep &= self.rng.random(len(day)) < self.intensity(cust, day)
        ci, cust, day = ci[keep], cust[keep], day[keep]
        amount = rupees[ci] * self.rng.lognormal(0, jitter, len(ci)) if jitter else rupees[ci]
        chan_arr = chan[ci] if isinstance(chan, np.ndarray) else np.full(len(ci), chan)
        self.rows.add(cust=cust, day=day, sec=self.times(len(ci), hours), cents=_cents(amount, self.rng, 1.0),
                      credit=credit, cat=_CAT[cat], chan=chan_arr, name=name[ci], city=self.home[cust])

    def income_rows(self) -> None:
        rng, pp, n = self.rng, self.persona, self.n
        names = np.empty(n, dtype=object)
        employers = self.merchants.matching("income", ("SALARY ",), EMPLOYERS_FALLBACK)
        employers = np.array([e for e in employers if e != "SALARY CREDIT"] or list(employers), dtype=object)
        names[:] = employers[self.fav % len(employers)]
        chan = np.full(n, _CHAN["NEFT"])
        student, retiree = pp == _persona("student"), pp == _persona("retiree")
        transfers_in = self._transfers_in()
        names[student] = transfers_in[self.fav[student] % len(transfers_in)]
        chan[student] = _CHAN["UPI"]
        names[retiree] = self.merchants.matching("income", ("PENSION",), ("PENSION CREDIT",))[0]
        payday = rng.choice(np.array([1, 1, 7, 25, 28, 30, 31]), n)
        payday[student] = rng.integers(1, 11, int(student.sum()))
        payday[retiree] = 1
        jitter = np.where(pp == _persona("low_balance_struggler"), 0.15, 0.02)
        amount = self.income * rng.lognormal(0, jitter)
        # Salary stops at the start of the decline for churners who moved it elsewhere; otherwise at the stop.
        until = np.where(self.salary_moved, self.decline_start, self.stop)
        self._monthly(np.arange(n), payday, amount, 0.0, credit=True, cat="income", chan=chan, name=names,
                      hours=(8, 11), fade=False, until=until)

    def bill_rows(self) -> None:
        rng, n, fav, pp = self.rng, self.n, self.fav, self.persona
        everyone = np.arange(n)
        m = self.merchants
        # Rent, early in the month, to a fixed payee.
        renters = everyone[rng.random(n) < self.par["rent_prob"][pp]]
        rent_names = m.pool("rent")
        rent = self.par["rent"][pp[renters]] * rng.lognormal(0, 0.3, len(renters))
        rent = np.round(rent / 500) * 500
        self._monthly(renters, rng.integers(1, 6, len(renters)), rent, 0.0, credit=False, cat="rent",
                      chan=np.where(rng.random(len(renters)) < 0.5, _CHAN["NEFT"], _CHAN["UPI"]),
                      name=rent_names[fav[renters] % len(rent_names)])
        # One utility bill (electricity, gas, water) for everyone, varying month to month.
        utilities = m.pool("utilities")
        scale = np.where(pp == _persona("high_balance_investor"), 2.5, np.where(pp == _persona("student"), 0.4, 1.0))
        self._monthly(everyone, rng.integers(5, 26, n), 1_200 * scale * rng.lognormal(0, 0.4, n), 0.2,
                      credit=False, cat="utilities",
                      chan=np.where(rng.random(n) < 0.6, _CHAN["ONLINE"], _CHAN["UPI"]),
                      name=utilities[fav % len(utilities)])
        # A phone or broadband plan for most, a fixed amount on a fixed day.
        optional = min(1.0, self.activity)  # a thinner bank keeps the essential bills only
        phone = everyone[rng.random(n) < 0.6 * optional]
        phone_names = m.matching("utilities", ("AIRTEL", "JIO", "VODAFONE", "BSNL", "FIBER", "BROADBAND"),
                                 ("AIRTEL", "JIO"))
        self._monthly(phone, rng.integers(1, 29, len(phone)), rng.choice(np.array(PHONE_PLANS), len(phone)) * 1.0,
                      0.0, credit=False, cat="utilities", chan=_CHAN["UPI"],
                      name=phone_names[fav[phone] % len(phone_names)])
        # Streaming subscriptions.
        subs = everyone[rng.random(n) < self.par["subscription_prob"][pp] * optional]
        pick = rng.integers(0, len(SUBSCRIPTIONS), len(subs))
        sub_names = np.array([s for s, _ in SUBSCRIPTIONS], dtype=object)
        sub_price = np.array([p for _, p in SUBSCRIPTIONS], dtype=float)
        self._monthly(subs, rng.integers(1, 29, len(subs)), sub_price[pick], 0.0, credit=False,
                      cat="entertainment", chan=_CHAN["ONLINE"], name=sub_names[pick])
        # Monthly investment (SIP / RD) for investors and some savers.
        sip = everyone[rng.random(n) < self.par["sip_prob"][pp] * optional]
        sip_amount = np.round(self.income[sip] * rng.uniform(0.05, 0.25, len(sip)) / 500) * 500 + 500
        payees = m.matching("transfers", ("SIP", "ZERODHA", "GROWW", "RECURRING"), INVESTMENT_PAYEES)
        self._monthly(sip, rng.integers(5, 11, len(sip)), sip_amount, 0.0, credit=False, cat="transfers",
                      chan=_CHAN["NEFT"], name=payees[fav[sip] % len(payees)])

    def interest_rows(self) -> None:
        quarter_ends = np.flatnonzero(np.isin(self.month_number, (3, 6, 9, 12)))
        if not len(quarter_ends):
            return
        name = self.merchants.matching("income", ("SB INTEREST", "INTEREST"), ("SB INTEREST CREDIT",))[:1]
        everyone = np.arange(self.n)
        self._monthly(everyone, np.full(self.n, 31), self.opening * 0.035 / 4, 0.2, credit=True, cat="income",
                      chan=_CHAN["BANK"], name=np.repeat(name, self.n), months=quarter_ends, hours=(0, 0),
                      fade=False)

    # -- everyday spending --------------------------------------------------------------------------
    def spending_rows(self) -> None:
        rng = self.rng
        counts = rng.poisson(self.rate * self.stop / 30.44)
        cust = np.repeat(np.arange(self.n), counts)
        day = np.floor(rng.random(len(cust)) * self.stop[cust]).astype(np.int64)
        keep = rng.random(len(cust)) < self.intensity(cust, day)
        cust, day = cust[keep], day[keep]
        k = len(cust)
        weights = np.array([p.category_weights for p in PERSONAS])
        dcat = _pick(rng, _cumulative(weights)[self.persona[cust]])
        cat = np.array([_CAT[c] for c in DISCRETIONARY_CATEGORIES])[dcat]
        params = np.array([AMOUNT_PARAMS[c] for c in DISCRETIONARY_CATEGORIES], dtype=float)
        med, sigma, lo, hi = params[dcat].T
        rupees = np.clip(med * rng.lognormal(0, sigma), lo, hi)
        is_cash = cat == _CAT["cash"]
        rupees[is_cash] = np.maximum(np.round(rupees[is_cash] / 100), 1) * 100
        chan_cum = _cumulative(np.array([CHANNEL_WEIGHTS[c] for c in DISCRETIONARY_CATEGORIES]))
        chan = _pick(rng, chan_cum[dcat])
        city = np.where(rng.random(k) < 0.04, self.second[cust], self.home[cust])
        self.rows.add(cust=cust, day=day, sec=self.times(k), cents=_cents(rupees, rng), credit=False, cat=cat,
                      chan=chan, name=self._names(cust, cat), city=city, disc=np.ones(k, bool))
        # Money in from friends and family now and then.
        counts = rng.poisson(0.4 * self.activity * self.stop / 30.44)
        cust = np.repeat(np.arange(self.n), counts)
        day = np.floor(rng.random(len(cust)) * self.stop[cust]).astype(np.int64)
        keep = rng.random(len(cust)) < self.intensity(cust, day)
        cust, day = cust[keep], day[keep]
        names = self._transfers_in()
        self.rows.add(cust=cust, day=day, sec=self.times(len(cust)),
                      cents=_cents(np.clip(1_500 * rng.lognormal(0, 0.9, len(cust)), 50, 50_000), rng),
                      credit=True, cat=_CAT["income"], chan=_CHAN["UPI"],
                      name=names[rng.integers(0, len(names), len(cust))], city=self.home[cust])

    def _transfers_in(self) -> np.ndarray:
        found = [n for n in self.merchants.pool("income") if n.endswith(" CR")]
        return np.array(found or ["UPI CR", "IMPS CR"], dtype=object)

    def _names(self, cust: np.ndarray, cat: np.ndarray) -> np.ndarray:
        """Customers keep going back to favourite merchants (a geometric tail) and sometimes try others."""
        m, rng, k = self.merchants, self.rng, len(cust)
        count = m.count[cat]
        favourite = (self.fav[cust] * 31 + cat * 977 + rng.geometric(0.45, k) - 1) % count
        anywhere = np.floor(rng.random(k) * count).astype(np.int64)
        return m.flat[m.offset[cat] + np.where(rng.random(k) < 0.65, favourite, anywhere)]

    def balance_spending(self) -> None:
        """Scale each customer's everyday spending so total debits / credits matches the persona's habit."""
        r = self.rows.concat()
        cents = r["cents"].astype(float)
        credits = np.bincount(r["cust"], cents * r["credit"], self.n)
        fixed = np.bincount(r["cust"], cents * (~r["credit"] & ~r["disc"]), self.n)
        flexible = np.bincount(r["cust"], cents * r["disc"], self.n)
        target = self.spend_ratio * credits - fixed
        scale = np.clip(np.divide(target, flexible, out=np.ones(self.n), where=flexible > 0), 0.4, 2.5)
        for part in self.rows.parts:
            disc = part["disc"]
            if disc.any():
                part["cents"] = np.where(disc, np.maximum(np.round(part["cents"] * scale[part["cust"]]), 100),
                                         part["cents"]).astype(np.int64)
                cash = disc & (part["cat"] == _CAT["cash"])
                part["cents"][cash] = np.maximum(np.round(part["cents"][cash] / 10_000), 1) * 10_000

    def refund_rows(self) -> None:
        rng = self.rng
        r = self.rows.concat()
        refundable = np.isin(r["cat"], [_CAT[c] for c in ("shopping", "travel", "dining", "entertainment")])
        refundable &= r["disc"] & (r["chan"] == _CHAN["ONLINE"]) & (rng.random(len(r["cust"])) < 0.04)
        idx = np.flatnonzero(refundable)
        day = r["day"][idx] + rng.integers(2, 11, len(idx))
        keep = day < self.stop[r["cust"][idx]]
        idx, day = idx[keep], day[keep]
        partial = rng.random(len(idx)) < 0.3
        cents = np.where(partial, np.round(r["cents"][idx] * rng.uniform(0.2, 0.9, len(idx))), r["cents"][idx])
        self.rows.add(cust=r["cust"][idx], day=day, sec=self.times(len(idx)),
                      cents=np.maximum(cents, 100).astype(np.int64), credit=True, cat=_CAT["income"],
                      chan=_CHAN["ONLINE"], name=r["name"][idx] + " REFUND", city=r["city"][idx])

    # -- injected fraud -----------------------------------------------------------------------------
    def fraud_rows(self) -> None:
        rng = self.rng
        r = self.rows.concat()
        debit = ~r["credit"]
        frame = pd.DataFrame({"cust": r["cust"][debit], "cents": r["cents"][debit]})
        median = frame.groupby("cust")["cents"].median().reindex(range(self.n)).to_numpy()
        n_legit = len(r["cust"])
        kind_p = np.array([0.32, 0.32, 0.28, 0.08])
        mean_rows = float(kind_p @ np.array([1, 1, 1, 6]))
        n_events = max(4, int(round(n_legit * FRAUD_ROW_RATE / mean_rows)))
        kind = np.concatenate([np.arange(4), np.searchsorted(np.cumsum(kind_p), rng.random(n_events - 4),
                                                               side="right").clip(0, 3)])
        cust = r["cust"][rng.integers(0, n_legit, n_events)]
        cust = np.where(np.isnan(median[cust]), r["cust"][debit][0], cust)  # someone with a history
        # A second signal on some single-row frauds ("new city at 3 am", "huge and at night").
        second = np.zeros(n_events, np.int8)
        single = (kind != 3) & (rng.random(n_events) < 0.3)
        other = (kind + rng.integers(1, 3, n_events)) % 3
        second[single] = other[single] + 1
        has = {k: (kind == i) | (second == i + 1) for i, k in enumerate(FRAUD_KINDS)}

        stop = self.stop[cust]
        day = np.floor(np.minimum(30, stop / 2) + rng.random(n_events) * (stop - np.minimum(30, stop / 2)))
        day = day.astype(np.int64)
        sec = np.where(has["odd_hour"], self.times(n_events, (1, 4)),
                       np.where(kind == 3, self.times(n_events, (9, 20)), self.times(n_events)))
        city = self.home[cust].copy()
        elsewhere = rng.integers(0, _N_DOMESTIC, n_events)
        for _ in range(2):
            clash = (elsewhere == self.home[cust]) | (elsewhere == self.second[cust])
            elsewhere = np.where(clash, (elsewhere + 1) % _N_DOMESTIC, elsewhere)
        abroad = _N_DOMESTIC + rng.integers(0, len(FOREIGN_CITIES), n_events)
        city = np.where(has["new_city"], np.where(rng.random(n_events) < 0.3, abroad, elsewhere), city)
        factor = np.where(has["amount"], rng.uniform(5, 30, n_events), rng.uniform(0.8, 2.5, n_events))
        fraud_cats = {0: ("shopping", "shopping", "shopping", "travel", "transfers"),
                      1: ("shopping", "dining", "travel", "cash"),
                      2: ("cash", "cash", "shopping", "transfers"),
                      3: ("shopping", "transfers", "entertainment")}
        cat = np.array([_CAT[fraud_cats[k][j % len(fraud_cats[k])]]
                        for k, j in zip(kind, rng.integers(0, 60, n_events), strict=True)], dtype=np.int64)
        inv_cat = {_CAT[c]: c for c in CHANNEL_WEIGHTS}
        chan_cum = _cumulative(np.array([CHANNEL_WEIGHTS[inv_cat[c]] for c in cat]))
        chan = _pick(rng, chan_cum)

        # Bursts: 4-8 rows seconds to minutes apart, each one labelled.
        size = np.where(kind == 3, rng.integers(4, 9, n_events), 1)
        ev = np.repeat(np.arange(n_events), size)
        first = np.r_[True, ev[1:] != ev[:-1]]
        gaps = np.where(first, 0, rng.integers(15, 241, len(ev)))
        offsets = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first] - gaps[first], size)
        rupees = median[cust][ev] / 100 * factor[ev] * np.where(kind[ev] == 3, rng.uniform(0.7, 1.5, len(ev)), 1)
        self.rows.add(cust=cust[ev], day=day[ev], sec=np.minimum(sec[ev] + offsets, 86_399),
                      cents=_cents(np.maximum(rupees, 1), rng), credit=False, cat=cat[ev], chan=chan[ev],
                      name=self._names(cust[ev], cat[ev]), city=city[ev], kind=(kind[ev] + 1).astype(np.int8),
                      kind2=second[ev])

    # -- assembly -----------------------------------------------------------------------------------
    def build(self) -> SynthBank:
        self.income_rows()
        self.bill_rows()
        self.interest_rows()
        self.spending_rows()
        self.balance_spending()
        self.refund_rows()
        self.fraud_rows()
        return self._assemble(self.rows.concat())

    def _assemble(self, r: dict[str, np.ndarray]) -> SynthBank:
        rng = self.rng
        n_rows = len(r["cust"])
        # Running balance per customer, in time order, never below a small cushion.
        order = np.lexsort((np.arange(n_rows), r["sec"], r["day"], r["cust"]))
        cust_o = r["cust"][order]
        signed = np.where(r["credit"], r["cents"], -r["cents"])[order]
        running = np.cumsum(signed)
        starts = np.flatnonzero(np.r_[True, cust_o[1:] != cust_o[:-1]])
        counts = np.diff(np.r_[starts, n_rows])
        before = np.r_[0, running[starts[1:] - 1]]
        running = running - np.repeat(before, counts)
        lowest = np.minimum.reduceat(running, starts)
        present = cust_o[starts]
        struggler = self.persona[present] == _persona("low_balance_struggler")
        cushion = np.where(struggler, rng.uniform(100, 1_500, len(present)), rng.uniform(500, 5_000, len(present)))
        opening = np.round(self.opening[present] * 100) + np.maximum(0, -lowest) + np.round(cushion * 100)
        balance = np.empty(n_rows, np.int64)
        balance[order] = running + np.repeat(opening.astype(np.int64), counts)

        # Output as per-customer statements in time order (IDs follow it): a third smaller gzipped than the
        # public file's global time order, which matters for the bundled sample.
        r = {k: v[order] for k, v in r.items()}
        balance = balance[order]
        cust = r["cust"]
        tids = np.array([f"T{FIRST_TRANSACTION_NUMBER + i}" for i in range(n_rows)], dtype=object)

        days = pd.date_range(self.start, self.end, freq="D")
        date_text = _day_first(days)[r["day"]]
        hhmmss = (r["sec"] // 3600) * 10_000 + (r["sec"] % 3600 // 60) * 100 + r["sec"] % 60
        balance_text = _format_money(balance)
        balance_text[rng.random(n_rows) < EMPTY_BALANCE_RATE] = ""
        city_text = _ALL_CITIES[r["city"]]
        transactions = pd.DataFrame({
            "TransactionID": tids,
            "CustomerID": self.customer_ids[cust],
            "CustomerDOB": self._dob_text()[cust],
            "CustGender": self._gender_text()[cust],
            "CustLocation": city_text,
            "CustAccountBalance": balance_text,
            "TransactionDate": date_text,
            "TransactionTime": hhmmss.astype(np.int64),
            "TransactionAmount (INR)": _format_money(r["cents"]),
            "TransactionType": np.where(r["credit"], "CREDIT", "DEBIT").astype(object),
            "Merchant": self._merchant_text(r["name"], r["chan"], city_text),
            "Category": self._category_text(r["cat"], r["credit"]),
            "Channel": np.array(CHANNELS, dtype=object)[r["chan"]],
        })
        kinds = np.array([""] + list(FRAUD_KINDS), dtype=object)
        signals = kinds[r["kind"]] + np.where(r["kind2"] > 0, "+", "").astype(object) + kinds[r["kind2"]]
        txn_labels = pd.DataFrame({"TransactionID": tids, "is_fraud": (r["kind"] > 0).astype(np.int8),
                                   "fraud_kind": kinds[r["kind"]], "fraud_signals": signals})
        seen = np.zeros(self.n, bool)
        seen[present] = True
        churn_dates = pd.Timestamp(self.start) + pd.to_timedelta(self.stop, unit="D")
        customer_labels = pd.DataFrame({
            "CustomerID": self.customer_ids,
            "persona": np.array([p.name for p in PERSONAS], dtype=object)[self.persona],
            "churned": self.churned.astype(np.int8),
            "churn_date": np.where(self.churned, churn_dates.strftime("%Y-%m-%d"), "").astype(object),
        })[seen].reset_index(drop=True)
        log.info("synthetic bank: %d customers, %d transactions, %d fraud", len(customer_labels), n_rows,
                 int(txn_labels["is_fraud"].sum()))
        return SynthBank(transactions, txn_labels, customer_labels, self.start, self.end)

    def _dob_text(self) -> np.ndarray:
        rng, n = self.rng, self.n
        lo = np.array([p.age_range[0] for p in PERSONAS])[self.persona]
        hi = np.array([p.age_range[1] for p in PERSONAS])[self.persona]
        age_days = rng.integers(lo * 365.25 + 1, (hi + 1) * 365.25 - 1)
        dob = pd.DatetimeIndex(pd.Timestamp(self.end) - pd.to_timedelta(age_days, unit="D"))
        text = _day_first(dob)
        text[rng.random(n) < UNKNOWN_DOB_RATE] = "1/1/1800"
        return text

    def _gender_text(self) -> np.ndarray:
        u = self.rng.random(self.n)
        return np.where(u < EMPTY_GENDER_RATE, "", np.where(u < 0.72, "M", "F")).astype(object)

    def _merchant_text(self, name: np.ndarray, chan: np.ndarray, city: np.ndarray) -> np.ndarray:
        """Statement-style descriptions: `UPI/ZOMATO/4829`, `POS 4456 DMART THANE`, `SWIGGY BANGALORE`."""
        rng, k = self.rng, len(name)
        style = rng.integers(0, 10, k)
        text = name.copy()

        def ref(rows: np.ndarray) -> np.ndarray:
            return rng.integers(1000, 10_000, int(rows.sum())).astype(str).astype(object)

        def put(rows: np.ndarray, *pieces: object) -> None:
            m = int(rows.sum())
            columns = [[piece] * m if isinstance(piece, str) else (piece[rows] if len(piece) == k else piece).tolist()
                       for piece in pieces]
            text[rows] = np.array(["".join(parts) for parts in zip(*columns, strict=True)] or [], dtype=object)

        upi, pos, online = chan == _CHAN["UPI"], chan == _CHAN["POS"], chan == _CHAN["ONLINE"]
        atm, neft = chan == _CHAN["ATM"], chan == _CHAN["NEFT"]
        rows = upi & (style < 4)
        put(rows, "UPI/", name, "/", ref(rows))
        put(upi & (style >= 4) & (style < 7), "UPI/", name, "/", city)
        put(upi & (style >= 7), "UPI-", name)
        rows = pos & (style < 6)
        put(rows, "POS ", ref(rows), " ", name, " ", city)
        put(pos & (style >= 6), name, " ", city)
        put(online & (style >= 4) & (style < 7), name, " ", city)
        rows = online & (style >= 7)
        put(rows, name, "*", ref(rows))
        put(atm & (style < 5), name, " ", city)
        rows = atm & (style >= 5)
        put(rows, name, "/", ref(rows), "/", city)
        put(neft & (style < 6), "NEFT/", name)
        lower = (chan != _CHAN["BANK"]) & (rng.random(k) < 0.02)
        text[lower] = np.array([t.lower() for t in text[lower]], dtype=object)
        return text

    def _category_text(self, cat: np.ndarray, credit: np.ndarray) -> np.ndarray:
        """The contract name for most rows, empty on ~20% of debits, a bank synonym on a few."""
        rng, k = self.rng, len(cat)
        text = np.array(CATEGORIES, dtype=object)[cat]
        alias = rng.random(k) < ALIAS_RATE
        pick = rng.integers(0, 60, k)
        for i, name in enumerate(CATEGORIES):
            options = np.array(CATEGORY_ALIASES.get(name, (name.title(),)), dtype=object)
            rows = alias & (cat == i)
            text[rows] = options[pick[rows] % len(options)]
        text[~credit & (rng.random(k) < UNCATEGORIZED_DEBIT_RATE)] = ""
        return text


def _persona(name: str) -> int:
    return next(i for i, p in enumerate(PERSONAS) if p.name == name)


# ----------------------------------------------------------------------------------------------- public API


def generate_bank(customers: int, months: int, seed: int, end: dt.date = dt.date(2016, 10, 31),
                  merchants: pd.DataFrame | None = None, activity: float = 1.0) -> SynthBank:
    """A synthetic bank of `customers` over the `months` calendar months ending `end`.

    `merchants` is a `merchant,category` frame (see `load_merchants`); categories it lacks, or all of them
    when it is None, use a short built-in list. `activity` scales everyday spending and optional bills
    (1.0: about 9 rows per customer-month; the bundled sample uses less to stay small). Same arguments,
    same bank.

    Examples
    --------
    >>> bank = generate_bank(customers=50, months=3, seed=1)
    >>> list(bank.transactions.columns)[:3]
    ['TransactionID', 'CustomerID', 'CustomerDOB']
    """
    if customers < 1 or months < 1 or not activity > 0:
        raise ValueError("customers, months and activity must be positive")
    return _BankBuilder(customers, months, seed, end, merchants, activity).build()


def write_bank(bank: SynthBank, out_dir: str | Path, *, compress: bool = False) -> dict[str, Path]:
    """Write transactions.csv and labels/{transactions,customers}.csv (`.csv.gz` when `compress`).

    Gzip output carries no timestamp, so the same bank gives byte-identical files.
    """
    out = Path(out_dir)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    suffix = ".csv.gz" if compress else ".csv"
    paths = {
        "transactions": out / f"transactions{suffix}",
        "txn_labels": out / "labels" / f"transactions{suffix}",
        "customer_labels": out / "labels" / f"customers{suffix}",
    }
    frames = {"transactions": bank.transactions, "txn_labels": bank.txn_labels,
              "customer_labels": bank.customer_labels}
    for key, path in paths.items():
        _write_csv(frames[key], path)
    return paths


def _write_csv(frame: pd.DataFrame, path: Path, chunk_rows: int = 250_000) -> None:
    """What `DataFrame.to_csv(index=False)` writes, several times faster (it dominated 1M-row runs).

    Gzip gets no timestamp, so the bytes depend on the data only.
    """
    raw = open(path, "wb")  # noqa: SIM115 - closed below, after the gzip layer
    try:
        sink = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) if path.suffix == ".gz" else raw
        sink.write((",".join(_csv_field(str(c)) for c in frame.columns) + "\n").encode())
        for lo in range(0, len(frame), chunk_rows):
            part = frame.iloc[lo: lo + chunk_rows]
            columns = [_csv_column(part[c]) for c in part.columns]
            sink.write(("\n".join([",".join(row) for row in zip(*columns, strict=True)]) + "\n").encode())
        if sink is not raw:
            sink.close()
    finally:
        raw.close()


def _csv_column(values: pd.Series) -> list[str]:
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.to_numpy().astype(str).tolist()
    if pd.api.types.is_string_dtype(values.dtype):
        text = values.fillna("").to_numpy(dtype=object).tolist()
    else:
        text = values.astype(str).where(values.notna(), "").to_numpy(dtype=object).tolist()
    joined = "\x00".join(text)
    if "," in joined or '"' in joined or "\n" in joined:  # rare: quote only then, as csv.QUOTE_MINIMAL does
        text = [_csv_field(v) for v in text]
    return text


def _csv_field(value: str) -> str:
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value
