"""Labelled fraud and genuine-but-unusual scenarios injected into any canonical transaction frame, to judge detectors.

The scenarios are written from how card and account fraud, and the genuine behaviour most often mistaken for
it, look in a bank's transaction data -- not from `analytics.synth`'s own fraud nor from any detector's
signals. They work on any frame with the canonical columns (`analytics.schema.TXN_COLUMNS`): a rich one with
merchants, categories, channels and credits (the synthetic bank), and a thin one with debits only (the public
file). A field the frame never fills is left empty on injected rows too, so "has a merchant" is never a tell;
scenarios that cannot be told apart from fraud without payee text (an insurance premium, a rent rise) are
not injected where there is no payee text (see each scenario's docstring). On the public file `location` is
the only place field (the customer's, row by row); injected rows use it as the place of the transaction.

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
from typing import Final

import numpy as np
import pandas as pd

from analytics.scenario_assembly import LABEL_COLUMNS, SUMMARY_COLUMNS, Injection, assemble
from analytics.scenario_context import (
    DOMESTIC_CITIES,
    FOREIGN_CITIES,
    MERCHANT_KINDS,
    MINUTE,
    CustomerHistory,
    Event,
    FrameContext,
    NewRow,
    count_in,
    loguniform,
    make_event,
    positions_by_code,
    round_to,
    round_up,
    txn_columns,
)
from analytics.schema import CREDIT, DEBIT

__all__ = ["DOMESTIC_CITIES", "FOREIGN_CITIES", "FRAUD_SCENARIOS", "GENUINE_SCENARIOS", "LABEL_COLUMNS",
           "SCENARIOS", "SUMMARY_COLUMNS", "Injection", "Scenario", "inject_scenarios"]


@dataclass(frozen=True)
class Scenario:
    """A named scenario: the function that makes one instance on one customer, and whether it is fraud."""

    name: str
    make: Callable[..., Event | None]
    is_fraud: bool
    needs_merchant: bool = False     # payee text is what makes it what it is (a premium, a landlord)

    def applies(self, frame: FrameContext) -> bool:
        return frame.has_merchant or not self.needs_merchant


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
    n = count_in(rng, transfers)
    room = h.headroom(start)
    total = (float(rng.uniform(*drain)) * room if np.isfinite(room)
             else h.usual * n * float(loguniform(rng, 10, 60)))
    limit = round_to(float(loguniform(rng, *max_transfer)), 1000)
    parts = total * rng.dirichlet(np.full(n, 4.0))
    parts = np.where(parts > limit, limit * rng.uniform(0.9, 1.0, n), parts)
    parts = np.array([round_to(p, 1000 if rng.random() < 0.5 else 1) for p in parts])
    if parts.min() < min_multiple * h.usual:
        return None
    payee = f.names.person(rng)
    rail = str(rng.choice(["IMPS", "NEFT", "UPI"]))
    rows: list[NewRow] = []
    t = start
    if rng.random() < probe_share:
        rows.append(NewRow(t, round_to(float(loguniform(rng, 1, 500)), 1), DEBIT, "probe", payee, "transfers",
                           rail, place))
        t += MINUTE * float(rng.uniform(1, 15))
    for amount in parts:
        rows.append(NewRow(t, float(amount), DEBIT, "transfer", payee, "transfers", rail, place))
        t += MINUTE * float(rng.uniform(*gap_minutes))
    return make_event(rows, f)


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
    large = h.usual * float(loguniform(rng, *large_multiple))
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
    for _ in range(count_in(rng, probes)):
        if not shared:
            kind = kinds[int(rng.integers(3))]
            payee = f.names.brand(rng, kind)
        amount = f.money(float(loguniform(rng, *probe_amount)), rng, paise=rng.random() < 0.5)
        rows.append(NewRow(t, min(amount, probe_amount[1]), DEBIT, "probe", payee, MERCHANT_KINDS[kind][1],
                           "ONLINE", place))
        t += MINUTE * float(rng.uniform(*probe_gap_minutes))
    t += MINUTE * float(rng.uniform(*large_gap_minutes))
    kind = ("electronics", "jewellery", "giftcard", "luxury")[int(rng.integers(4))]
    rows.append(NewRow(t, f.money(large, rng), DEBIT, "large", f.names.brand(rng, kind), MERCHANT_KINDS[kind][1],
                       "ONLINE", place))
    return make_event(rows, f)


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
    n = count_in(rng, count)
    window = float(rng.uniform(*window_minutes))
    first = float(rng.uniform(hours[0] * 60, hours[1] * 60 - window))
    offsets = np.sort(np.r_[0.0, rng.uniform(0, window, n - 1)])
    amounts = h.usual * loguniform(rng, *multiple, size=n)
    start = day + MINUTE * first
    if amounts.sum() > 0.95 * h.headroom(start):
        return None
    place = f.new_place(h, rng, 0.4)[0] if rng.random() < away_share else None
    rows = []
    for offset, amount in zip(offsets, amounts, strict=True):
        kind = ("electronics", "jewellery", "giftcard", "digital", "atm", "wallet")[int(rng.integers(6))]
        ts = (start + MINUTE * float(offset)).floor("s")
        if kind == "atm":
            rows.append(NewRow(ts, round_up(float(amount), 500), DEBIT, "burst", "ATM", "cash", "ATM", place))
        elif kind == "wallet":
            rows.append(NewRow(ts, round_up(float(amount), 100), DEBIT, "burst", f.names.person(rng),
                               "transfers", "UPI", place))
        else:
            rail = ("POS", "ONLINE")[int(rng.integers(2))]
            rows.append(NewRow(ts, f.money(float(amount), rng), DEBIT, "burst", f.names.brand(rng, kind),
                               MERCHANT_KINDS[kind][1], rail, place))
    return make_event(rows, f)


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
    amount = h.usual * float(loguniform(rng, *multiple))
    if amount > 0.95 * h.headroom(t):
        return None
    place = f.new_place(h, rng, 0.4)[0] if rng.random() < away_share else None
    rail = ("POS", "ONLINE")[int(rng.integers(2))]
    return make_event([NewRow(t, f.money(amount, rng), DEBIT, "purchase", f.names.brand(rng, kind), category, rail,
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
    n = count_in(rng, count)
    window = float(rng.uniform(*window_minutes))
    if rng.random() < midnight_share:
        start = day + pd.Timedelta(hours=24) - MINUTE * float(rng.uniform(0, window))
    else:
        start = day + f.time_of_day(rng, bank_shape=False)
    offsets = np.sort(np.r_[0.0, rng.uniform(0, window, n - 1)])
    amounts = np.clip(h.usual * loguniform(rng, *multiple, size=n), limits[0], limits[1])
    amounts = np.array([round(float(a) * float(rng.uniform(1.0, 1.03)), 2) if abroad else round_to(float(a), 500)
                        for a in amounts])
    if amounts.min() < multiple[0] * h.usual or amounts.sum() > 0.95 * h.headroom(start):
        return None
    rows = [NewRow((start + MINUTE * float(o)).floor("s"), float(a), DEBIT, "withdrawal", "ATM", "cash", "ATM", place)
            for o, a in zip(offsets, amounts, strict=True)]
    return make_event(rows, f)


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
    n = count_in(rng, count)
    t = day + f.time_of_day(rng, (9, 16))
    amounts = h.usual * float(rng.uniform(*first_multiple)) * np.cumprod(np.r_[1.0, rng.uniform(*growth, n - 1)])
    amounts = np.array([round_to(float(a), 100 if rng.random() < 0.8 else 1) for a in amounts])
    if amounts.sum() > 0.95 * h.headroom(t):
        return None
    payee = f.names.person(rng)
    rail = ("UPI", "UPI", "IMPS")[int(rng.integers(3))]
    rows = []
    for a in amounts:
        rows.append(NewRow(t.floor("s"), float(a), DEBIT, "transfer", payee, "transfers", rail, None))
        t += MINUTE * float(rng.uniform(*gap_minutes))
    return make_event(rows, f)


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
    nights = count_in(rng, trip_days)
    lead = count_in(rng, lead_days)
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
        seconds = np.sort(rng.uniform(8 * 3600, 23.5 * 3600, count_in(rng, per_day)).astype(np.int64))
        for local in (pd.Timestamp(local_day.value + int(x) * 10**9) for x in seconds):
            kind = everyday[int(rng.integers(len(everyday)))]
            rail = "ONLINE" if kind == "transport" and rng.random() < 0.5 else "POS"
            rows.append(NewRow((local + shift).floor("s"), round(h.usual * float(loguniform(rng, *multiple)), 2),
                               DEBIT, "abroad", f.names.brand(rng, kind), MERCHANT_KINDS[kind][1], rail, city))
        if d == atm_day:
            local = local_day + pd.Timedelta(seconds=int(rng.uniform(10 * 3600, 20 * 3600)))
            rows.append(NewRow((local + shift).floor("s"), round(h.usual * float(rng.uniform(1.0, 2.5)), 2), DEBIT,
                               "abroad_cash", "ATM", "cash", "ATM", city))
    return make_event(rows, f)


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
        amount = round_to(monthly * float(rng.uniform(*bonus_multiple)), 100 if rng.random() < 0.5 else 1)
        rows.append(NewRow(when.floor("s"), amount, CREDIT, "bonus", None, "income", h.channel[pick],
                           h.location[pick], merchant_text=text))
        return make_event(rows, f)
    months = count_in(rng, salary_months)
    payday = int(rng.integers(1, 8)) if rng.random() < 0.5 else int(rng.integers(25, 29))
    employer = f"SALARY {f.names.employer(rng)}" if rng.random() < 0.5 else f.names.employer(rng)
    monthly = round_to(float(loguniform(rng, *new_salary)), 1)
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
    bonus = round_to(monthly * float(rng.uniform(*bonus_multiple)), 100)
    rows.append(NewRow(pick.ts + pd.Timedelta(days=int(rng.integers(0, 6)), minutes=7), bonus, CREDIT, "bonus",
                       f"{employer} BONUS" if rng.random() < 0.5 else employer, "income", "NEFT", None))
    return make_event(sorted(rows, key=lambda r: r.ts), f)


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
        times.append(times[0].normalize() + pd.Timedelta(days=count_in(rng, second_after_days))
                     + f.time_of_day(rng, (9, 21)))
    rows = [NewRow(t, round_to(h.usual * float(loguniform(rng, *multiple)), 100 if rng.random() < 0.6 else 1),
                   DEBIT, "transfer", payee, "transfers", rail, None) for t in times]
    if sum(r.amount for r in rows) > 0.95 * h.headroom(times[0]):
        return None
    return make_event(rows, f)


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
            else float(loguniform(rng, *premium)))
    amount = round_to(base, 1 if rng.random() < 0.6 else 10)
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
    return make_event(rows, f)


def rent_increase(h: CustomerHistory, f: FrameContext, rng: np.random.Generator, *,
                  raise_range: tuple[float, float] = (0.10, 0.20), round_steps: tuple[float, ...] = (100.0, 500.0),
                  ) -> Event | None:
    """The landlord raises the rent: the same payee, from one month on, `raise_range` more, rounded.

    A fair negative: the payee, day of month, rail and place are those of the customer's existing rent
    (four or more months of it), and the new amount (rounded to one of ₹`round_steps` as landlords do) stays the same
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
    for step in (float(round_steps[int(rng.integers(len(round_steps)))]), 100.0, 10.0):
        rounded = round_to(raised, step)
        if 1 + raise_range[0] <= rounded / old <= 1 + raise_range[1]:  # rounding never leaves the stated range
            new_amount = rounded
            break
    rows = [NewRow(pd.Timestamp(h.ts[i]), new_amount, DEBIT, "raised_rent", None, h.category[i], h.channel[i],
                   h.location[i], merchant_text=str(h.merchant[i])) for i in rent[first:]]
    return make_event(rows, f, replaces=tuple(int(h.positions[i]) for i in rent[first:]))


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
    amount = round_to(float(loguniform(rng, *price)), 100)
    loan = rng.random() < loan_share
    lender = f.names.lenders[int(rng.integers(len(f.names.lenders)))]
    source = (f"{lender} LOAN DISB" if loan else
              ("FD MATURITY PROCEEDS", "TD CLOSURE PROCEEDS", "RD MATURITY CREDIT")[int(rng.integers(3))])
    credited = day + f.time_of_day(rng, (10, 17), bank_shape=False)
    rows = [NewRow(credited, amount, CREDIT, "funding", source, "income", "NEFT" if loan else "BANK", None)]
    kind = ("electronics", "furniture", "two_wheeler")[int(rng.integers(3))]
    bought = credited.normalize() + pd.Timedelta(days=count_in(rng, days_after)) + f.time_of_day(rng, (10, 21))
    if bought <= credited:
        bought = credited + MINUTE * float(rng.uniform(20, 240))
    paid = round_to(amount * float(rng.uniform(0.85, 1.0)), 1)
    rail = ("POS", "ONLINE", "NEFT")[int(rng.integers(3))]
    rows.append(NewRow(bought.floor("s"), paid, DEBIT, "purchase", f.names.brand(rng, kind), "shopping", rail, None))
    if loan:
        n = count_in(rng, emi_months)
        emi = round_to(amount * (1 + float(rng.uniform(*interest))) / n, 1)
        due = bought.normalize() + pd.DateOffset(months=1)
        for _ in range(n):
            ts = due + f.time_of_day(rng, (6, 11), bank_shape=False)
            if ts > f.last_moment:
                break
            rows.append(NewRow(ts, emi, DEBIT, "emi", lender, "transfers", "AUTO", None))
            due = due + pd.DateOffset(months=1)
    return make_event(rows, f)


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
    by_code = positions_by_code(codes, pool)
    cols = txn_columns(frame)

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
    return assemble(frame, context, events, histories, seed, names, wanted, made,
                    is_fraud={n: SCENARIOS[n].is_fraud for n in names},
                    applicable={n: SCENARIOS[n].applies(context) for n in names})


