"""The balance forecast on hand-made histories whose crossing day is computed by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics.forecast import forecast_balance
from analytics.recurring import scan_recurring
from tests.model_frames import frame

AS_OF = dt.date(2016, 10, 10)
THRESHOLD = 2_000.0
OVERDRAFT = ("Overdraft Protection", "Covers a payment when your balance runs short, up to ₹25,000.")
# Everyday spending: ₹1,400 every day, turn about at two restaurants and a grocer (each payee every third
# day, so none of them is a weekly or monthly habit); dining is two thirds of it.
SHOPS = (("ZOMATO", "dining"), ("DMART", "groceries"), ("SWIGGY", "dining"))


def history(salary: bool = True, rent: bool = False, extra: list[dict] | None = None,
            start: dt.date = dt.date(2016, 7, 1)) -> pd.DataFrame:
    rows = []
    day = start
    while day <= AS_OF:
        merchant, category = SHOPS[(day - start).days % 3]
        rows.append({"customer_id": "C1", "ts": f"{day} 13:00", "amount": 1_400.0, "merchant": merchant,
                     "category": category, "txn_type": "DEBIT"})
        day += dt.timedelta(days=1)
    for month in (7, 8, 9):
        if salary:
            rows.append({"customer_id": "C1", "ts": f"2016-{month:02d}-30 09:00", "amount": 50_000.0,
                         "merchant": "NEFT/SALARY ACME LTD", "category": "income", "txn_type": "CREDIT"})
        if rent:
            rows.append({"customer_id": "C1", "ts": f"2016-{month:02d}-12 08:00", "amount": 15_000.0,
                         "merchant": "NEFT/HOUSE RENT", "category": "rent", "txn_type": "DEBIT"})
    rows += extra or []
    return frame(sorted(rows, key=lambda r: r["ts"]))


def forecast(txns: pd.DataFrame, balance: float | None = 20_000.0, overdraft: tuple[str, str] | None = None):
    return forecast_balance(txns, AS_OF, balance, AS_OF if balance is not None else None, THRESHOLD,
                            scan_recurring(txns, AS_OF), overdraft)


def test_salary_on_the_30th_and_1400_a_day_from_20000_crosses_2000_on_the_23rd() -> None:
    # 20,000 - 1,400 x n < 2,000  =>  n >= 13 days after 10 Oct: 23 Oct, 7 days before the salary of 30 Oct.
    result = forecast(history())
    assert result.status == "will_cross" and result.warn
    assert result.daily_spend == 1_400.0
    assert result.crossing_date == dt.date(2016, 10, 23)
    assert result.income is not None and result.income.day_of_month == 30
    assert result.income_date == dt.date(2016, 10, 30) and result.days_before_income == 7
    assert result.horizon_end == dt.date(2016, 10, 29)
    assert result.lowest_balance == 20_000 - 1_400 * 19
    assert result.message == ("At your usual ₹1,400 a day you will be below ₹2,000 around 23 Oct 2016, 7 days "
                              "before your salary.")


def test_the_tip_is_a_cut_in_the_biggest_everyday_category_that_avoids_the_crossing() -> None:
    # To end 29 Oct at ₹2,000 instead of ₹-6,600 the 19 days need ₹8,600 less, ₹452.63 a day: under half of
    # dining's ₹933.33 a day, so dining alone can do it.
    assert 20_000 - (1_400 - 8_600 / 19) * 19 >= THRESHOLD
    assert 8_600 / 19 <= 0.5 * 1_400 * 2 / 3
    result = forecast(history(), overdraft=OVERDRAFT)
    assert result.tip == ("Spending ₹8,600 less on dining until your salary (about ₹460 a day) would keep you "
                          "above ₹2,000.")
    assert result.shortfall == 2_000 - (20_000 - 1_400 * 19)


def test_without_income_it_says_so_and_gives_the_size_of_the_gap() -> None:
    result = forecast(history(salary=False))
    assert result.status == "will_cross" and result.income is None and result.days_before_income is None
    assert result.crossing_date == dt.date(2016, 10, 23)
    assert result.message == ("At your usual ₹1,400 a day you will be below ₹2,000 around 23 Oct 2016; no regular "
                              "income is credited to this account.")
    # Over 30 days the balance would end ₹22,000 below zero: ₹24,000 short, ₹800 a day, more than half of
    # all everyday spending (₹700 a day), so no cut is offered.
    assert result.shortfall == 2_000 - (20_000 - 1_400 * 30)
    assert result.tip == ("You would need about ₹24,000 more over the next 30 days to stay above ₹2,000: more "
                          "than cutting everyday spending can save.")


def test_rent_due_soon_is_counted_on_its_day_and_overdraft_is_offered_when_eligible() -> None:
    # 11 Oct: 18,600; 12 Oct: 20,000 - 2,800 - 15,000 = 2,200; 13 Oct: 800 -> below on 13 Oct.
    txns = history(rent=True)
    result = forecast(txns, overdraft=OVERDRAFT)
    assert [(s.merchant, s.amount, s.date) for s in result.scheduled] == [("HOUSE RENT", 15_000.0,
                                                                            dt.date(2016, 10, 12))]
    assert result.daily_spend == 1_400.0        # the rent is not everyday spending
    assert result.crossing_date == dt.date(2016, 10, 13) and result.days_before_income == 17
    assert result.message == ("At your usual ₹1,400 a day, with ₹15,000 to HOUSE RENT due around 12 Oct 2016, you "
                              "will be below ₹2,000 around 13 Oct 2016, 17 days before your salary.")
    shortfall = 2_000 - (20_000 - 1_400 * 19 - 15_000)
    assert result.shortfall == shortfall
    assert result.tip == f"You are eligible for Overdraft Protection, which would cover the gap of about " \
                         f"₹{shortfall:,.0f}: {OVERDRAFT[1]}"


def test_without_an_eligible_overdraft_the_gap_is_said_plainly() -> None:
    result = forecast(history(rent=True), overdraft=None)
    assert result.tip is not None and result.tip.startswith("You would need about ₹23,600 more until your salary")


def test_one_big_purchase_does_not_become_the_usual_day() -> None:
    tv = {"customer_id": "C1", "ts": "2016-09-20 18:00", "amount": 30_000.0, "merchant": "CROMA",
          "category": "shopping", "txn_type": "DEBIT"}
    result = forecast(history(extra=[tv]))
    assert result.daily_spend == 1_400.0 and result.crossing_date == dt.date(2016, 10, 23)


def test_enough_money_until_the_salary_is_no_warning() -> None:
    result = forecast(history(), balance=40_000.0)
    assert result.status == "stays_above" and not result.warn and result.tip is None
    assert result.lowest_balance == 40_000 - 1_400 * 19
    assert result.message == ("At your usual ₹1,400 a day your balance should stay above ₹2,000 until your salary "
                              "around 30 Oct 2016 (lowest about ₹13,400).")


def test_a_balance_already_below_is_left_to_the_low_balance_warning() -> None:
    result = forecast(history(), balance=1_500.0)
    assert result.status == "below_now" and not result.warn


def test_no_balance_on_record_is_said_not_guessed() -> None:
    result = forecast(history(), balance=None)
    assert result.status == "no_balance" and result.crossing_date is None
    assert result.message == "No balance is on record for this account, so it cannot be forecast."


def test_under_three_weeks_of_history_gives_no_forecast() -> None:
    result = forecast(history(salary=False, start=dt.date(2016, 9, 22)))
    assert result.status == "not_enough_history" and not result.warn
