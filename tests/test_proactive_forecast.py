"""The balance forecast on hand-made histories whose crossing day, and whether to abstain, is worked by hand."""

from __future__ import annotations

import datetime as dt
import math

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


def salary_on(*days: dt.date) -> list[dict]:
    return [{"customer_id": "C1", "ts": f"{day} 09:00", "amount": 50_000.0, "merchant": "NEFT/SALARY ACME LTD",
             "category": "income", "txn_type": "CREDIT"} for day in days]


def history(salary: bool = True, rent: bool = False, extra: list[dict] | None = None,
            start: dt.date = dt.date(2016, 7, 1), spend: float = 1_400.0) -> pd.DataFrame:
    rows = []
    day = start
    while day <= AS_OF:
        merchant, category = SHOPS[(day - start).days % 3]
        rows.append({"customer_id": "C1", "ts": f"{day} 13:00", "amount": spend, "merchant": merchant,
                     "category": category, "txn_type": "DEBIT"})
        day += dt.timedelta(days=1)
    if salary:
        rows += salary_on(*(dt.date(2016, month, 30) for month in (7, 8, 9)))
    for month in (7, 8, 9):
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


def test_the_brief_s_example_salary_on_the_1st_nine_days_before_it() -> None:
    # Salary on 1 Aug, 1 Sep, 1 Oct: next expected 1 Nov; its shortest interval (30 days, Sep -> Oct) makes
    # 31 Oct the earliest it can come. 20,000 - 1,400 x 13 = 1,800 < 2,000 on 23 Oct: before 31 Oct, 9 days
    # before 1 Nov. Every day of the last eight weeks is ₹1,400, so every resampled path is the usual one,
    # and in each past cycle the 22 days before pay day took 21 x ₹1,400 = ₹29,400 > ₹18,000 of headroom.
    txns = history(salary=False, extra=salary_on(dt.date(2016, 8, 1), dt.date(2016, 9, 1), dt.date(2016, 10, 1)))
    result = forecast(txns)
    assert result.status == "will_cross" and result.warn and not result.abstained
    assert result.income_date == dt.date(2016, 11, 1) and result.earliest_income_date == dt.date(2016, 10, 31)
    assert result.crossing_date == dt.date(2016, 10, 23) and result.days_before_income == 9
    assert result.paths_crossing == 1.0 and result.cycles_crossing == 1.0 and result.cycles == 3
    assert result.message == ("At your usual ₹1,400 a day you will be below ₹2,000 around 23 Oct 2016, 9 days "
                              "before your salary.")
    # The tip: ending 31 Oct (21 days) at ₹2,000 instead of 20,000 - 29,400 = -9,400 takes ₹11,400 less,
    # ₹542.86 a day: more than half of dining alone (about ₹950 a day), within half of dining and groceries
    # (₹1,400). The ₹11,400 is split by their shares of the last eight weeks (56 days from 16 Aug: 37 dining
    # days, 19 grocery days), each rounded up to ₹100.
    dining, groceries = 11_400 * 37 / 56, 11_400 * 19 / 56
    assert 11_400 / 21 > 0.5 * 1_400 * 37 / 56 and 11_400 / 21 <= 0.5 * 1_400
    assert result.tip == (f"Spending ₹{math.ceil(dining / 100) * 100:,} less on dining and "
                          f"₹{math.ceil(groceries / 100) * 100:,} less on groceries until your salary (about ₹550 a "
                          f"day) would keep you above ₹2,000.")


def test_without_a_regular_income_it_abstains_and_says_why() -> None:
    result = forecast(history(salary=False))
    assert result.status == "no_income" and result.abstained and not result.warn
    assert result.crossing_date is None and result.tip is None
    assert result.message == ("No regular income (a salary or pension on its usual day) is credited to this "
                              "account, so there is no next pay day to forecast to.")


def test_an_overdue_salary_is_income_missed_not_a_guess() -> None:
    # Salary on 30 Jun, 30 Jul, 30 Aug, then none: expected around 30 Sep, ten days overdue on 10 Oct.
    txns = history(salary=False, start=dt.date(2016, 6, 1),
                   extra=salary_on(dt.date(2016, 6, 30), dt.date(2016, 7, 30), dt.date(2016, 8, 30)))
    result = forecast(txns)
    assert result.status == "income_missed" and result.abstained and not result.warn
    assert result.message == ("Your salary was expected around 30 Sep 2016 and has not come in yet, so the "
                              "balance is not forecast until it does.")


def test_a_crossing_after_the_earliest_pay_day_is_uncertain() -> None:
    # Salary on 30 Jul, 30 Aug and early on 27 Sep (28 days): next expected 30 Oct, but it can come 25 Oct.
    # From ₹24,200 at ₹1,400 a day the balance is below ₹2,000 after 16 days, on 26 Oct: after 25 Oct (and
    # the 14 days to 25 Oct take only ₹19,600 of the ₹22,200 above the threshold, on every path; and 26 Oct
    # is 16 days ahead, more than 14).
    txns = history(salary=False, extra=salary_on(dt.date(2016, 7, 30), dt.date(2016, 8, 30), dt.date(2016, 9, 27)))
    result = forecast(txns, balance=24_200.0)
    assert result.income_date == dt.date(2016, 10, 30) and result.earliest_income_date == dt.date(2016, 10, 25)
    assert result.status == "uncertain" and result.abstained and not result.warn and result.tip is None
    assert result.crossing_date == dt.date(2016, 10, 26)
    assert result.message == ("At your usual ₹1,400 a day you might go below ₹2,000 around 26 Oct 2016, but not "
                              "surely (your salary can come as early as 25 Oct 2016; only 0% of spending paths drawn "
                              "from your recent days get there before 25 Oct 2016; it is 16 days away, too far ahead "
                              "to be sure), so no warning.")


def test_spending_that_comes_in_rare_big_lumps_is_uncertain() -> None:
    # ₹9,800 on every seventh day and nothing between: the same median week (₹9,800, ₹1,400 a day) as the
    # steady spender. From ₹24,000 the usual path is below ₹2,000 after 16 days (26 Oct). But the ₹22,000 of
    # headroom needs three of the big days among the 19 days to the 30th; drawn at 1 in 7 that happens with
    # probability 1 - (6/7)^19 - 19 (1/7) (6/7)^18 - 171 (1/7)^2 (6/7)^17 = 0.52 < 0.9: not robust.
    rows = [{"customer_id": "C1", "ts": f"{dt.date(2016, 7, 1) + dt.timedelta(days=7 * k)} 13:00", "amount": 9_800.0,
             "category": "shopping", "txn_type": "DEBIT"} for k in range(15)]
    txns = frame(sorted(rows + salary_on(*(dt.date(2016, m, 30) for m in (7, 8, 9))), key=lambda r: r["ts"]))
    result = forecast(txns, balance=24_000.0)
    assert result.daily_spend == 1_400.0 and result.crossing_date == dt.date(2016, 10, 26)
    assert result.status == "uncertain" and not result.warn
    assert result.paths_crossing is not None and 0.45 < result.paths_crossing < 0.60
    assert "only 5" in result.message and "of spending paths drawn from your recent days get there before 30 Oct" \
        in result.message


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


def test_under_eight_weeks_of_history_abstains() -> None:
    # 16 Aug - 10 Oct is 56 days: just enough; from 17 Aug, 55 days: not.
    enough = forecast(history(salary=False, start=dt.date(2016, 8, 16),
                              extra=salary_on(dt.date(2016, 8, 30), dt.date(2016, 9, 30))))
    assert enough.status != "not_enough_history"
    result = forecast(history(salary=False, start=dt.date(2016, 8, 17),
                              extra=salary_on(dt.date(2016, 8, 30), dt.date(2016, 9, 30))))
    assert result.status == "not_enough_history" and result.abstained and not result.warn
    assert result.message == ("Fewer than 8 weeks of transactions are on record, too few to know your usual "
                              "spending and pay cycle, so no forecast.")
