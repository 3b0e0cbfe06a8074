"""Spending trends on hand-made months: the closed month against its usual month, and mid-month budget pace."""

from __future__ import annotations

import datetime as dt

from analytics.recurring import scan_recurring
from analytics.spending import suggest_budget
from analytics.trends import budget_pace, monthly_trend
from tests.model_frames import frame

OCT_3 = dt.date(2016, 10, 3)


def spend(day: str, amount: float, category: str, merchant: str | None = None) -> dict:
    return {"customer_id": "C1", "ts": f"{day} 13:00", "amount": amount, "category": category,
            "merchant": merchant or f"SHOP {category.upper()}"}


def months(spending: dict[str, dict[str, float]], first_day: str | None = None) -> object:
    """{"2016-08": {"dining": 7700}} -> one debit per category on the 14th of each month (plus a first row)."""
    rows = [spend(f"{month}-14", amount, category) for month, by_cat in spending.items()
            for category, amount in by_cat.items()]
    if first_day:
        rows.append(spend(first_day, 50.0, "groceries"))
    return frame(sorted(rows, key=lambda r: r["ts"]))


def test_dining_up_thirty_percent_on_the_only_month_before_is_reported() -> None:
    trend = monthly_trend(months({"2016-08": {"dining": 7_700}, "2016-09": {"dining": 10_010}},
                                 first_day="2016-08-01"), OCT_3)
    assert trend is not None
    assert (trend.month, trend.category, trend.amount, trend.usual) == ("2016-09", "dining", 10_010.0, 7_700.0)
    assert abs(trend.change - 2_310 / 7_700) < 1e-9 and trend.increase == 2_310.0
    assert trend.usual_months == ("2016-08",) and trend.key == "trend:2016-09:dining"
    assert trend.message == "You spent 30% more on dining in September than in August: ₹10,010 against ₹7,700."


def test_a_fifteen_percent_rise_is_not_material() -> None:
    assert monthly_trend(months({"2016-08": {"dining": 10_000}, "2016-09": {"dining": 11_500}},
                                first_day="2016-08-01"), OCT_3) is None


def test_a_three_hundred_rupee_rise_is_not_material() -> None:
    assert monthly_trend(months({"2016-08": {"dining": 1_000}, "2016-09": {"dining": 1_300}},
                                first_day="2016-08-01"), OCT_3) is None


def test_the_usual_month_is_the_median_of_the_three_before() -> None:
    history = {"2016-06": {"dining": 6_000}, "2016-07": {"dining": 9_000}, "2016-08": {"dining": 7_700},
               "2016-09": {"dining": 10_010}}
    trend = monthly_trend(months(history, first_day="2016-05-02"), OCT_3)
    assert trend is not None and trend.usual == 7_700.0 and trend.usual_months == ("2016-06", "2016-07", "2016-08")
    assert trend.message == ("You spent 30% more on dining in September than in a usual month: ₹10,010 against "
                             "₹7,700 (your median month of June to August).")


def test_a_rise_within_the_range_of_recent_months_is_no_trend() -> None:
    history = {"2016-06": {"dining": 6_000}, "2016-07": {"dining": 11_000}, "2016-08": {"dining": 7_700},
               "2016-09": {"dining": 10_010}}
    assert monthly_trend(months(history, first_day="2016-05-02"), OCT_3) is None


def test_the_largest_rise_in_rupees_is_the_one_reported() -> None:
    history = {"2016-08": {"dining": 7_700, "shopping": 1_000}, "2016-09": {"dining": 10_010, "shopping": 2_000}}
    trend = monthly_trend(months(history, first_day="2016-08-01"), OCT_3)
    assert trend is not None and trend.category == "dining"      # +₹2,310 beats +₹1,000 (though +100%)


def test_a_half_covered_first_month_is_not_history() -> None:
    # The customer arrived on 20 July: July's ₹500 is not a month of dining, so August alone is the usual.
    rows = [spend("2016-07-20", 500, "dining"), spend("2016-08-14", 7_700, "dining"), spend("2016-09-14", 10_010, "dining")]
    trend = monthly_trend(frame(rows), OCT_3)
    assert trend is not None and trend.usual_months == ("2016-08",) and trend.usual == 7_700.0


def test_no_month_before_means_no_trend() -> None:
    assert monthly_trend(months({"2016-09": {"dining": 10_010}}, first_day="2016-09-01"), OCT_3) is None


def test_income_and_transfers_are_never_a_spending_trend() -> None:
    history = {"2016-08": {"transfers": 5_000, "other": 1_000}, "2016-09": {"transfers": 20_000, "other": 9_000}}
    assert monthly_trend(months(history, first_day="2016-08-01"), OCT_3) is None


# ---- budget pace -------------------------------------------------------------------------------------


def dining_history() -> list[dict]:
    """July–September: ₹4,500 of dining on the 10th and on the 25th of each month (₹9,000 a month)."""
    return [spend(f"2016-{m:02d}-{d:02d}", 4_500, "dining", "ZOMATO") for m in (7, 8, 9) for d in (10, 25)] + \
        [spend("2016-07-01", 100, "groceries", "DMART")]


def test_dining_ahead_of_its_budget_pace_mid_month_is_reported() -> None:
    rows = dining_history() + [spend("2016-10-04", 2_500, "dining", "ZOMATO"), spend("2016-10-12", 3_500, "dining", "SWIGGY")]
    txns = frame(sorted(rows, key=lambda r: r["ts"]))
    as_of = dt.date(2016, 10, 15)
    plan = suggest_budget(txns, "C1", as_of)
    pace = budget_pace(txns, as_of, plan, scan_recurring(txns, as_of))
    budget = 9_000 * 0.85                                   # dining is discretionary: the typical month less 15%
    expected = budget * 15 / 31
    assert pace is not None and pace.category == "dining" and pace.key == "pace:2016-10:dining"
    assert pace.budget == round(budget, 2) and pace.spent == 6_000.0
    assert abs(pace.expected_by_now - expected) < 0.01 and abs(pace.ahead - (6_000 - expected)) < 0.01
    assert pace.message == ("By 15 Oct 2016 you have spent ₹6,000 on dining this month, ₹2,298 ahead of the pace "
                            "of your suggested ₹7,650 monthly budget (₹3,702 by now).")


def test_pace_is_not_judged_in_the_first_week() -> None:
    rows = dining_history() + [spend("2016-10-04", 6_000, "dining", "ZOMATO")]
    txns = frame(sorted(rows, key=lambda r: r["ts"]))
    as_of = dt.date(2016, 10, 7)
    assert budget_pace(txns, as_of, suggest_budget(txns, "C1", as_of)) is None


def test_a_pace_the_customer_often_keeps_is_no_news() -> None:
    # Every month before: ₹6,000 of dining on the 10th, ₹3,000 on the 25th. ₹5,000 by 15 October is well
    # ahead of the budget's pace (₹3,702) but slower than by the 15th of any month before.
    rows = [spend(f"2016-{m:02d}-{d:02d}", a, "dining", "ZOMATO") for m in (7, 8, 9) for d, a in ((10, 6_000), (25, 3_000))]
    rows += [spend("2016-07-01", 100, "groceries", "DMART"), spend("2016-10-09", 5_000, "dining", "ZOMATO")]
    txns = frame(sorted(rows, key=lambda r: r["ts"]))
    as_of = dt.date(2016, 10, 15)
    assert budget_pace(txns, as_of, suggest_budget(txns, "C1", as_of)) is None


def test_rent_paid_on_the_first_is_not_ahead_of_pace() -> None:
    rows = [spend(f"2016-{m:02d}-01", 15_000, "rent", "RENT MR SHARMA") for m in (7, 8, 9, 10)]
    txns = frame(rows)
    as_of = dt.date(2016, 10, 10)
    assert budget_pace(txns, as_of, suggest_budget(txns, "C1", as_of), scan_recurring(txns, as_of)) is None


def test_a_subscription_counts_as_charged_not_pro_rata() -> None:
    # Entertainment: NETFLIX ₹499 on the 2nd and an outing of about ₹1,000 each month (₹1,499 typical). By 8 Oct the ₹499 is charged
    # and ₹600 went on a movie: ₹1,099 against ₹499 + (₹1,274.15 - ₹499) x 8/31 = ₹699.04, ₹399.96 ahead:
    # under ₹500, so nothing. Pro-rating the subscription would have called it ₹770 ahead.
    rows = [spend(f"2016-{m:02d}-02", 499, "entertainment", "NETFLIX.COM") for m in (6, 7, 8, 9, 10)]
    rows += [spend("2016-07-20", 1_100, "entertainment", "PVR CINEMAS"), spend("2016-08-15", 900, "entertainment", "INOX"),
             spend("2016-09-22", 1_000, "entertainment", "PVR CINEMAS")]
    rows += [spend("2016-10-07", 600, "entertainment", "INOX")]
    txns = frame(sorted(rows, key=lambda r: r["ts"]))
    as_of = dt.date(2016, 10, 8)
    plan = suggest_budget(txns, "C1", as_of)
    assert [line.suggested for line in plan.lines if line.category == "entertainment"] == [round(1_499 * 0.85, 2)]
    assert budget_pace(txns, as_of, plan, scan_recurring(txns, as_of)) is None
    assert budget_pace(txns, as_of, plan, None) is not None       # without knowing the subscription it would
