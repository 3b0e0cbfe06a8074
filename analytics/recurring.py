"""Recurring payments and regular income in one customer's statement: subscriptions, bills, rent, EMIs, salary.

A series is the charges of one payee (the merchant text normalised, so "UPI/NETFLIX/4829", "NETFLIX.COM"
and "NEFT/NETFLIX" are one payee) that come at a regular interval with a similar amount. The rules, all
parameters below:

- Interval: weekly (7 days ± 2), monthly (a calendar month on ± 4 days), quarterly (3 months ± 8 days) or
  yearly (12 months ± 12 days). A gap of a few steps (monthly up to 4, weekly 3, quarterly 2) is missed
  charges, not irregularity; other gaps are irregular and may be at most a fifth of the regular ones. Monthly and slower payments also keep to
  one day of the month (a shop visited every fourth Saturday drifts through the month: a habit, not a
  bill). A series needs 3 charges (weekly 4, yearly 2).
- Amount: a fixed price (at least half of the consecutive charges within 2% of each other; a price change
  is a new level), or a varying bill (three quarters of the charges within 1.5x either way of the median,
  at least 4 charges, monthly or quarterly only: a weekly visit to one shop with a different bill each time,
  or two similar grocery bills a year apart, are chance).
- A payee whose charges are irregular as a whole (a subscription among other purchases at the same payee,
  two phone plans at one operator) is split by repeated price (2%) and each price tried on its own.
- A series that has missed two expected charges has lapsed: it is not listed (its rows still count as
  recurring for the forecast's everyday spending).
- Duplicate charge: the same amount to the same payee twice within 24 hours when that amount is a recurring
  payment's (its price, or any amount of a varying bill: a subscription or bill is charged once a period),
  or at any other payee twice within 15 minutes and at least ₹1,000 (a double swipe or double submit), never
  for cash or transfers (two ATM withdrawals of ₹10,000, or two equal transfers, are usually meant). Two
  coffees are neither: small, and not a bill.
- Price rise: a fixed-price series whose latest level is higher than the level before it, which held for
  at least two charges; reported while its first charge at the new price is within `alert_days` of as_of.
  A varying bill has no price, so it never has a price rise.
- Rows without payee text (the public file has none) are never part of a series: nothing is invented.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from analytics.categorize import normalize_merchant
from analytics.money import format_date, format_inr
from analytics.results import RecurringAlert, RecurringPayment
from analytics.schema import CREDIT, DEBIT, UNCATEGORIZED

# Transfer-rail words that normalize_merchant keeps but that say how money moved, not to whom
# ("NEFT/SALARY INFOSYS LTD" and "SALARY INFOSYS LTD" are one payer).
TRANSFER_RAILS = frozenset({"NEFT", "IMPS", "RTGS", "ACH", "NACH", "ECS", "DR", "SI", "AUTOPAY", "MANDATE",
                            "EMANDATE", "BBPS"})
LEVEL_TOLERANCE = 0.02          # two charges within 2% are the same price (rounding, forex, taxes)
FIXED_PAIR_SHARE = 0.5          # a fixed price: at least half the consecutive charges at the same level
VARYING_BAND = 1.5              # a varying bill: charges within 1.5x either way of the median ...
VARYING_SHARE = 0.75            # ... for three quarters of them
VARYING_MIN_CHARGES = 4         # a varying amount needs more charges to be more than chance
MAX_CLUSTERS = 4                # repeated prices tried on their own per payee (commonest first)
CLUSTER_MIN_CHARGES = 3         # ... each repeated at least this often
IRREGULAR_SHARE = 0.2           # irregular gaps allowed, as a share of the regular ones
DUPLICATE_WINDOW = pd.Timedelta(hours=24)       # recurring payee charged the same amount twice
DUPLICATE_WINDOW_OTHER = pd.Timedelta(minutes=15)  # any other payee: a double swipe / double submit
DUPLICATE_MIN_AMOUNT = 1_000.0  # ... and only for amounts worth a question
DUPLICATE_EXEMPT_CATEGORIES = frozenset({"cash", "transfers"})
ALERT_DAYS = 35                 # alerts concern charges this recent (one monthly cycle and a little)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Cadence:
    """One interval a series may follow."""

    name: str
    months: int        # calendar months per step (0: a fixed number of days)
    days: int          # days per step when months == 0
    tolerance: int     # days either side of the expected date
    min_charges: int
    max_skip: int      # a gap of up to this many steps is missed charges, not irregularity
    varying_ok: bool   # may a varying amount follow this cadence?

    @property
    def period_days(self) -> float:
        return self.days if self.months == 0 else self.months * 365.25 / 12


CADENCES = (
    Cadence("weekly", 0, 7, 2, 4, 2, False),
    Cadence("monthly", 1, 0, 4, 3, 3, True),
    Cadence("quarterly", 3, 0, 8, 3, 1, True),
    Cadence("yearly", 12, 0, 12, 2, 0, False),
)


@dataclass(frozen=True)
class RecurringScan:
    """Everything found in one statement; `series_rows` marks the rows of every detected series (active or
    lapsed), so the forecast can count them separately from everyday spending."""

    payments: tuple[RecurringPayment, ...]   # active debits, largest monthly equivalent first
    incomes: tuple[RecurringPayment, ...]    # active credits, largest monthly equivalent first
    alerts: tuple[RecurringAlert, ...]
    series_rows: np.ndarray                  # bool per frame row (positional)

    @property
    def regular_income(self) -> RecurringPayment | None:
        """The customer's main regular credit (salary, pension, allowance): monthly or weekly, the largest."""
        regular = [p for p in self.incomes if p.interval in ("monthly", "weekly")]
        return regular[0] if regular else None


def merchant_key(text: object) -> str:
    """The payee a description names, the same for every spelling a statement uses ("" when none)."""
    return _key_of_text(text) if isinstance(text, str) else ""


@lru_cache(maxsize=65_536)
def _key_of_text(text: str) -> str:
    # Statements repeat the same spellings across customers and scans: normalising each once saves most
    # of a scan's time (a pure function of the text, so the memo is safe).
    tokens = normalize_merchant(text).split()
    while len(tokens) > 1 and tokens[0] in TRANSFER_RAILS:
        tokens = tokens[1:]
    return " ".join(tokens)


# ---- dates (proleptic ordinals: small groups are faster in plain Python than in numpy) -----------------


@lru_cache(maxsize=4096)
def _month_first(month_index: int) -> int:
    """Ordinal of the first day of month `month_index` (= year * 12 + month - 1)."""
    return dt.date(month_index // 12, month_index % 12 + 1, 1).toordinal()


def _later(day: int, month_index: int, day_of_month: int, cadence: Cadence, steps: int) -> int:
    """The ordinal `steps` cadence steps after a charge; months keep the day, clipped (31 Jan -> 29 Feb)."""
    if cadence.months == 0:
        return day + cadence.days * steps
    target = month_index + cadence.months * steps
    length = _month_first(target + 1) - _month_first(target)
    return _month_first(target) + min(day_of_month, length) - 1


@dataclass(frozen=True)
class _Charges:
    """One candidate series' charges in time order, as plain Python lists."""

    rows: list[int]           # positions in the frame
    day: list[int]            # ordinals
    month: list[int]          # month index
    dom: list[int]            # day of month
    amount: list[float]

    def take(self, picks: list[int]) -> _Charges:
        return _Charges(*([values[i] for i in picks] for values in
                          (self.rows, self.day, self.month, self.dom, self.amount)))


def _gaps(charges: _Charges, cadence: Cadence) -> tuple[int, int] | None:
    """(regular, irregular) gaps if the charges follow `cadence`, else None.

    A gap of 2..max_skip+1 steps is missed charges (neutral); any other gap is irregular, allowed up to
    IRREGULAR_SHARE of the regular ones. Missed gaps may not outnumber regular ones.
    """
    n_gaps = len(charges.day) - 1
    if n_gaps + 1 < cadence.min_charges:
        return None
    span = charges.day[-1] - charges.day[0]
    if span < (cadence.min_charges - 1) * cadence.period_days - cadence.tolerance * 2:
        return None
    regular = missed = irregular = 0
    most_irregular = IRREGULAR_SHARE * n_gaps   # regular <= n_gaps, so more irregular gaps can never pass
    tolerance = cadence.tolerance
    for i in range(n_gaps):
        nxt, day, month, dom = charges.day[i + 1], charges.day[i], charges.month[i], charges.dom[i]
        if abs(nxt - _later(day, month, dom, cadence, 1)) <= tolerance:
            regular += 1
        elif any(abs(nxt - _later(day, month, dom, cadence, k)) <= tolerance
                 for k in range(2, cadence.max_skip + 2)):
            missed += 1
        else:
            irregular += 1
            if irregular > most_irregular:
                return None
    if regular < cadence.min_charges - 1 or irregular > IRREGULAR_SHARE * regular or missed > regular:
        return None
    if cadence.months and not _keeps_its_day(charges.dom, tolerance):
        return None
    return regular, irregular


def _keeps_its_day(doms: list[int], tolerance: int) -> bool:
    """A bill is due on a day of the month: the charges stay near one usual day. A 28-day habit (a shop
    visited every fourth Saturday) passes gap by gap but drifts through the month, and is no bill."""
    usual = _usual_day(doms, len(doms))
    near = sum(abs((d - usual + 15) % 31 - 15) <= tolerance for d in doms)
    return near >= (1 - IRREGULAR_SHARE) * len(doms)


def _usual_day(doms: list[int], last: int = 6) -> int:
    """The usual day of the month of the `last` charges, read around the month's end as a circle
    (a rent paid on the 30th, 1st, 2nd is "the 1st"; 30, 31, 30, 31 is "the 31st")."""
    recent = doms[-last:]
    latest = recent[-1]
    offsets = [(d - latest + 15) % 31 - 15 for d in recent]      # -15..15 days from the latest charge's day
    day = math.floor(latest + statistics.median(offsets) + 0.5)   # half up
    return (day - 1) % 31 + 1


def _next_expected(charges: _Charges, cadence: Cadence, as_of: dt.date) -> tuple[dt.date, int | None]:
    """The next charge after the last one (rolled past missed ones), and the usual day of the month."""
    late = as_of.toordinal() - cadence.tolerance
    if cadence.months == 0:
        nxt = charges.day[-1] + cadence.days
        while nxt < late:
            nxt += cadence.days
        return dt.date.fromordinal(nxt), None
    anchor = _usual_day(charges.dom)
    month = charges.month[-1]
    nxt = _later(0, month, anchor, cadence, 0)
    # The charge after the last: at least half a period on (a rent paid on the 30th was that cycle's charge).
    while nxt - charges.day[-1] < cadence.period_days / 2 or nxt < late:
        month += cadence.months
        nxt = _later(0, month, anchor, cadence, 0)
    return dt.date.fromordinal(nxt), anchor


def _missed_twice(charges: _Charges, cadence: Cadence, as_of: dt.date) -> bool:
    """Two expected charges have passed (each with its tolerance) since the last one: the series lapsed."""
    second = _later(charges.day[-1], charges.month[-1], charges.dom[-1], cadence, 2)
    return second + cadence.tolerance < as_of.toordinal()


# ---- amounts --------------------------------------------------------------------------------------------


def _same_level(a: float, b: float) -> bool:
    return abs(b - a) <= LEVEL_TOLERANCE * a


def _levels(amounts: list[float]) -> list[tuple[int, int]]:
    """Runs of consecutive charges at one price: (start, end) positions, end exclusive."""
    runs, start = [], 0
    for i in range(1, len(amounts)):
        if not _same_level(amounts[start], amounts[i]):
            runs.append((start, i))
            start = i
    runs.append((start, len(amounts)))
    return runs


def _is_fixed(amounts: list[float]) -> bool:
    """A fixed price: at least FIXED_PAIR_SHARE of consecutive charges at the same level."""
    if len(amounts) < 2:
        return False
    same = sum(_same_level(a, b) for a, b in zip(amounts[:-1], amounts[1:], strict=True))
    return same >= FIXED_PAIR_SHARE * (len(amounts) - 1)


def _is_similar(amounts: list[float]) -> bool:
    """A varying bill: VARYING_SHARE of the charges within VARYING_BAND either way of the median."""
    median = statistics.median(amounts)
    if median <= 0:
        return False
    within = sum(median / VARYING_BAND <= a <= median * VARYING_BAND for a in amounts)
    return within >= VARYING_SHARE * len(amounts)


# ---- series ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    charges: _Charges
    cadence: Cadence
    fixed: bool
    irregular: int            # gaps that fit no step of the cadence (a stray charge at the same payee)


def _fit(charges: _Charges, cadences: tuple[Cadence, ...], fixed_only: bool) -> _Series | None:
    """The cadence these charges follow, if any (the one with the most regular gaps)."""
    fixed = _is_fixed(charges.amount)
    if not fixed and (fixed_only or not _is_similar(charges.amount)):
        return None
    best: tuple[int, int, Cadence] | None = None
    for cadence in cadences:
        if not fixed and not (cadence.varying_ok and len(charges.day) >= VARYING_MIN_CHARGES):
            continue
        gaps = _gaps(charges, cadence)
        if gaps is not None and (best is None or gaps[0] > best[0]):
            best = (*gaps, cadence)
    return None if best is None else _Series(charges, best[2], fixed, best[1])


def _price_levels(amounts: list[float]) -> list[list[int]]:
    """Positions (in time order) of the charges at each repeated price: the commonest exact amount and
    everything within LEVEL_TOLERANCE of it, then the next, while a price repeats CLUSTER_MIN_CHARGES times."""
    remaining = list(range(len(amounts)))
    levels: list[list[int]] = []
    while remaining and len(levels) < MAX_CLUSTERS:
        price, count = Counter(round(amounts[i], 2) for i in remaining).most_common(1)[0]
        if count < CLUSTER_MIN_CHARGES:
            break
        levels.append([i for i in remaining if _same_level(price, amounts[i])])
        remaining = [i for i in remaining if not _same_level(price, amounts[i])]
    return levels


def _payee_series(charges: _Charges) -> list[_Series]:
    """Series among one payee's charges (duplicates already removed).

    All the payee's charges together when they follow a cadence with no stray charge. Otherwise each
    repeated price on its own (a subscription among other purchases at the same payee, two phone lines at
    one operator) on a cadence of three or more charges (two matching amounts a year apart among many
    purchases are chance, not a yearly plan); failing that, all the charges with their few stray ones.
    """
    whole = _fit(charges, CADENCES, fixed_only=False)
    if whole is not None and whole.irregular == 0:
        return [whole]
    found = []
    if len(charges.day) > CLUSTER_MIN_CHARGES:
        cadences = tuple(c for c in CADENCES if c.min_charges >= CLUSTER_MIN_CHARGES)
        for picks in _price_levels(charges.amount):
            if len(picks) < len(charges.day):
                fitted = _fit(charges.take(picks), cadences, fixed_only=True)
                if fitted is not None:
                    found.append(fitted)
    return found or ([whole] if whole is not None else [])


@dataclass(frozen=True)
class _Columns:
    ts: np.ndarray            # int64 nanoseconds
    day: np.ndarray           # int64 proleptic ordinal
    month: np.ndarray         # int64 year * 12 + month - 1
    dom: np.ndarray           # int64 day of month
    amount: np.ndarray
    credit: np.ndarray        # bool
    key: np.ndarray           # object: payee key ("" when none)
    raw: np.ndarray           # object: description as written
    category: np.ndarray      # object
    channel: np.ndarray       # object
    txn_id: np.ndarray        # object

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _Columns:
        n = len(frame)

        def column(name: str, default: object) -> np.ndarray:
            if name in frame.columns:
                return frame[name].to_numpy(dtype=object)
            return np.full(n, default, dtype=object)

        stamps = frame["ts"]
        if not pd.api.types.is_datetime64_any_dtype(stamps):
            stamps = pd.to_datetime(stamps)
        ts = stamps.to_numpy(dtype="datetime64[ns]")
        days = ts.astype("datetime64[D]")
        months = days.astype("datetime64[M]")
        raw = column("merchant", None)
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        keys = np.array([merchant_key(u) for u in uniques] + [""], dtype=object)
        kinds = column("txn_type", DEBIT)
        cats = column("category", UNCATEGORIZED).copy()
        cats[pd.isna(cats)] = UNCATEGORIZED
        return cls(
            ts=ts.astype(np.int64),
            day=days.astype(np.int64) + _EPOCH_ORDINAL,
            month=months.astype(np.int64) + 1970 * 12,
            dom=(days - months.astype("datetime64[D]")).astype(np.int64) + 1,
            amount=frame["amount"].to_numpy(dtype=float, na_value=np.nan),
            credit=np.array([isinstance(k, str) and k.upper() == CREDIT for k in kinds.tolist()], dtype=bool),
            key=keys[codes], raw=raw, category=cats, channel=column("channel", None),
            txn_id=column("transaction_id", None),
        )

    def charges(self, rows: np.ndarray) -> _Charges:
        return _Charges(rows.tolist(), self.day[rows].tolist(), self.month[rows].tolist(),
                        self.dom[rows].tolist(), self.amount[rows].tolist())


def _label(cols: _Columns, rows: list[int], key: str) -> str:
    """The statement's usual spelling of the payee when one repeats, else the payee key."""
    spelled = Counter(str(cols.raw[i]).strip() for i in rows if isinstance(cols.raw[i], str))
    if spelled:
        text, count = spelled.most_common(1)[0]
        if count >= 2:
            return text
    return key


def _category(cols: _Columns, rows: list[int]) -> str:
    counted = Counter(str(c) for c in cols.category[rows])
    known = [(n, c) for c, n in counted.items() if c != UNCATEGORIZED]
    return max(known)[1] if known else UNCATEGORIZED


def _payment(cols: _Columns, series: _Series, key: str, as_of: dt.date) -> RecurringPayment | None:
    charges, cadence = series.charges, series.cadence
    if _missed_twice(charges, cadence, as_of):
        return None
    nxt, anchor = _next_expected(charges, cadence, as_of)
    if series.fixed:
        start, end = _levels(charges.amount)[-1]
        amount = statistics.median(charges.amount[start:end])
    else:
        amount = statistics.median(charges.amount[-3:])
    first = charges.rows[0]
    return RecurringPayment(
        merchant=key, label=_label(cols, charges.rows, key), category=_category(cols, charges.rows),
        txn_type=CREDIT if cols.credit[first] else DEBIT, interval=cadence.name, amount=round(amount, 2),
        amount_varies=not series.fixed,
        monthly_equivalent=round(amount * (365.25 / 12) / cadence.period_days, 2),
        day_of_month=anchor, first_date=dt.date.fromordinal(charges.day[0]),
        last_date=dt.date.fromordinal(charges.day[-1]), next_expected=nxt, n_charges=len(charges.rows),
    )


def _price(amount: float) -> str:
    """A price as charged: whole rupees without paise (₹499), else with them (₹119.50)."""
    return format_inr(amount, paise=not float(amount).is_integer())


def _price_rise(series: _Series, payment: RecurringPayment, cols: _Columns, as_of: dt.date,
                alert_days: int) -> RecurringAlert | None:
    """The latest price level against the one before it, when that one held for two charges or more."""
    if not series.fixed or payment.txn_type != DEBIT:
        return None
    amounts = series.charges.amount
    runs = _levels(amounts)
    if len(runs) < 2:
        return None
    (old_start, old_end), (new_start, new_end) = runs[-2], runs[-1]
    if old_end - old_start < 2:
        return None   # a one-off charge before is no established price
    old = statistics.median(amounts[old_start:old_end])
    new = statistics.median(amounts[new_start:new_end])
    first_new = dt.date.fromordinal(series.charges.day[new_start])
    if new <= old or (as_of - first_new).days > alert_days:
        return None
    ids = tuple(str(cols.txn_id[i]) for i in series.charges.rows[new_start:new_end])
    return RecurringAlert(
        kind="price_rise", key=f"price_rise:{payment.merchant}:{first_new.isoformat()}",
        merchant=payment.merchant, label=payment.label, category=payment.category, amount=round(new, 2),
        previous_amount=round(old, 2), date=first_new, transaction_ids=ids,
        message=(f"{payment.label} went from {_price(old)} to {_price(new)} "
                 f"(first charged at the new price on {format_date(first_new)})."),
    )


def _duplicates(cols: _Columns, rows: list[int]) -> list[tuple[int, int]]:
    """(first, second) consecutive charges of one payee with the same amount within DUPLICATE_WINDOW."""
    window = DUPLICATE_WINDOW.value
    return [(a, b) for a, b in zip(rows[:-1], rows[1:], strict=True)
            if abs(cols.amount[a] - cols.amount[b]) < 0.005 and cols.ts[b] - cols.ts[a] <= window]


def _is_double_swipe(cols: _Columns, first: int, second: int) -> bool:
    """At a payee that is not recurring, only a double swipe or double submit is asked about: minutes
    apart, a sizeable amount, and not cash or a transfer (those are usually meant twice)."""
    if str(cols.category[second]) in DUPLICATE_EXEMPT_CATEGORIES:
        return False
    if isinstance(cols.channel[second], str) and cols.channel[second].upper() == "ATM":
        return False
    return (cols.amount[second] >= DUPLICATE_MIN_AMOUNT
            and cols.ts[second] - cols.ts[first] <= DUPLICATE_WINDOW_OTHER.value)


def _duplicate_alert(cols: _Columns, first: int, second: int, key: str, label: str) -> RecurringAlert:
    day = pd.Timestamp(int(cols.ts[second])).date()
    amount = float(cols.amount[second])
    when = "on" if pd.Timestamp(int(cols.ts[first])).date() == day else "by"
    return RecurringAlert(
        kind="duplicate_charge", key=f"duplicate_charge:{cols.txn_id[second]}", merchant=key, label=label,
        category=str(cols.category[second]), amount=round(amount, 2), previous_amount=None, date=day,
        transaction_ids=(str(cols.txn_id[first]), str(cols.txn_id[second])),
        message=(f"{label} charged you {_price(amount)} twice {when} {format_date(day)}: "
                 "if you did not mean to pay twice, ask for the second one back."),
    )


def scan_recurring(frame: pd.DataFrame, as_of: dt.date, alert_days: int = ALERT_DAYS) -> RecurringScan:
    """Recurring payments, regular credits and their alerts in ONE customer's frame (rows up to as_of).

    Rows without payee text are never part of a series (the public file has none: nothing is invented).
    """
    n = len(frame)
    series_rows = np.zeros(n, dtype=bool)
    if n == 0:
        return RecurringScan((), (), (), series_rows)
    cols = _Columns.of(frame)
    usable = (cols.key != "") & ~np.isnan(cols.amount) & (cols.ts != np.iinfo(np.int64).min) \
        & (cols.day <= as_of.toordinal())
    positions = np.flatnonzero(usable)
    # One group per payee and direction; payees with a single charge can be neither a series nor a
    # duplicate (most everyday merchants), so they are dropped before any per-group work.
    codes = pd.factorize(cols.key[positions])[0] * 2 + cols.credit[positions]
    sizes = np.bincount(codes)
    several = sizes[codes] >= 2
    positions, codes = positions[several], codes[several]
    if len(positions) == 0:
        return RecurringScan((), (), (), series_rows)
    order = np.lexsort((cols.ts[positions], codes))
    positions, codes = positions[order], codes[order]
    bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
    payments: list[RecurringPayment] = []
    incomes: list[RecurringPayment] = []
    alerts: list[RecurringAlert] = []
    window_start = as_of.toordinal() - alert_days
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        group = positions[lo:hi].tolist()
        key = str(cols.key[group[0]])
        pairs = [] if cols.credit[group[0]] else _duplicates(cols, group)
        repeated = {second for _, second in pairs}
        kept = np.array([p for p in group if p not in repeated], dtype=np.int64)
        found = _payee_series(cols.charges(kept)) if len(kept) >= 2 else []
        active: list[RecurringPayment] = []
        for series in found:
            series_rows[series.charges.rows] = True
            payment = _payment(cols, series, key, as_of)
            if payment is None:
                continue
            active.append(payment)
            (incomes if payment.txn_type == CREDIT else payments).append(payment)
            rise = _price_rise(series, payment, cols, as_of, alert_days)
            if rise is not None:
                alerts.append(rise)
        for first, second in pairs:
            if cols.day[second] < window_start:
                continue
            # A recurring payment charged twice: its price (any amount for a varying bill).
            billed = [p for p in active if p.amount_varies or _same_level(p.amount, float(cols.amount[second]))]
            if billed:
                series_rows[second] = True     # a bill paid twice is still no everyday spending
            if billed or _is_double_swipe(cols, first, second):
                label = billed[0].label if billed else _label(cols, group, key)
                alerts.append(_duplicate_alert(cols, first, second, key, label))
    payments.sort(key=lambda p: (-p.monthly_equivalent, p.merchant))
    incomes.sort(key=lambda p: (-p.monthly_equivalent, p.merchant))
    alerts.sort(key=lambda a: (a.date, a.key), reverse=True)
    return RecurringScan(tuple(payments), tuple(incomes), tuple(alerts), series_rows)


def recurring_payments(frame: pd.DataFrame, as_of: dt.date) -> tuple[RecurringPayment, ...]:
    """The active recurring debits (subscriptions, bills, rent, EMIs), largest monthly equivalent first."""
    return scan_recurring(frame, as_of).payments


CADENCE_BY_NAME = {cadence.name: cadence for cadence in CADENCES}


def expected_dates(payment: RecurringPayment, start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
    """The days `payment` is next expected from `start` to `end` inclusive, on its usual day; a charge that
    is late (expected before `start`) is expected on `start`."""
    cadence = CADENCE_BY_NAME[payment.interval]
    first = payment.next_expected
    month = first.year * 12 + first.month - 1
    dates: list[dt.date] = []
    for steps in range(0, 10_000):
        if cadence.months == 0 or payment.day_of_month is None:
            day = first + dt.timedelta(days=cadence.days * steps if cadence.months == 0 else
                                       round(cadence.period_days * steps))
        else:
            day = dt.date.fromordinal(_later(0, month, payment.day_of_month, cadence, steps))
        if day > end:
            break
        dates.append(max(day, start))
    return tuple(dates)
