"""Recurring payments on hand-made statements whose answers are known: subscriptions, rent, salary, price
rises and duplicate charges, and the look-alikes that are none of these."""

from __future__ import annotations

import datetime as dt

from analytics.recurring import expected_dates, merchant_key, scan_recurring
from tests.model_frames import frame

AS_OF = dt.date(2016, 10, 10)


def row(when: str, amount: float, merchant: str | None, category: str = "entertainment", kind: str = "DEBIT",
        channel: str | None = "ONLINE", tid: str | None = None) -> dict:
    out = {"customer_id": "C1", "ts": when, "amount": amount, "merchant": merchant, "category": category, "txn_type": kind,
           "channel": channel}
    if tid is not None:
        out["transaction_id"] = tid
    return out


def statement(rows: list[dict]) -> object:
    rows = sorted(rows, key=lambda r: r["ts"])
    if all("transaction_id" in r for r in rows):
        return frame(rows)
    return frame([{**r, "transaction_id": r.get("transaction_id", f"T{i}")} for i, r in enumerate(rows)])


NETFLIX_SPELLINGS = ("UPI/NETFLIX/4829", "NETFLIX.COM", "netflix mumbai", "NETFLIX*1234", "NETFLIX.COM")


def netflix(months: list[int], amounts: list[float], day: int = 5) -> list[dict]:
    return [row(f"2016-{m:02d}-{day:02d} 06:10", a, NETFLIX_SPELLINGS[i % len(NETFLIX_SPELLINGS)])
            for i, (m, a) in enumerate(zip(months, amounts, strict=True))]


def test_statement_spellings_of_one_payee_share_a_key() -> None:
    assert {merchant_key(s) for s in NETFLIX_SPELLINGS} == {"NETFLIX"}
    assert merchant_key("NEFT/SALARY INFOSYS LTD") == merchant_key("SALARY INFOSYS LTD") == "SALARY INFOSYS"
    assert merchant_key(None) == ""


def test_netflix_price_rise_after_five_months_is_one_alert() -> None:
    scan = scan_recurring(statement(netflix([5, 6, 7, 8, 9, 10], [499] * 5 + [649])), AS_OF)
    assert len(scan.payments) == 1
    sub = scan.payments[0]
    assert (sub.merchant, sub.interval, sub.amount, sub.day_of_month) == ("NETFLIX", "monthly", 649.0, 5)
    assert sub.next_expected == dt.date(2016, 11, 5) and sub.n_charges == 6
    assert [a.kind for a in scan.alerts] == ["price_rise"]
    rise = scan.alerts[0]
    assert (rise.previous_amount, rise.amount, rise.date) == (499.0, 649.0, dt.date(2016, 10, 5))
    assert rise.key == "price_rise:NETFLIX:2016-10-05"
    assert f"{sub.label} went from ₹499 to ₹649" in rise.message


def test_a_price_rise_that_persists_is_reported_at_its_first_new_charge() -> None:
    scan = scan_recurring(statement(netflix([5, 6, 7, 8, 9, 10], [499] * 4 + [649, 649])), AS_OF)
    (rise,) = scan.alerts
    assert rise.date == dt.date(2016, 9, 5) and len(rise.transaction_ids) == 2


def test_one_dearer_charge_between_equal_ones_is_no_price_rise() -> None:
    scan = scan_recurring(statement(netflix([4, 5, 6, 7, 8, 9, 10], [499, 499, 499, 649, 499, 499, 499])), AS_OF)
    assert scan.alerts == ()
    assert scan.payments[0].amount == 499.0


def test_a_price_rise_months_ago_is_no_longer_news() -> None:
    scan = scan_recurring(statement(netflix([3, 4, 5, 6, 7, 8, 9, 10], [499] * 3 + [649] * 5)), AS_OF)
    assert scan.alerts == ()
    assert scan.payments[0].amount == 649.0


def test_rent_on_the_first_give_or_take_two_days_is_monthly() -> None:
    days = ["2016-01-02", "2016-01-31", "2016-03-01", "2016-04-03", "2016-05-01", "2016-05-30", "2016-07-02",
            "2016-08-01", "2016-09-02", "2016-10-01"]
    scan = scan_recurring(statement([row(f"{d} 10:00", 15_000, "NEFT/RENT MR SHARMA", "rent", channel="NEFT")
                                     for d in days]), AS_OF)
    (rent,) = scan.payments
    assert (rent.interval, rent.amount, rent.day_of_month, rent.category) == ("monthly", 15_000.0, 1, "rent")
    assert rent.next_expected == dt.date(2016, 11, 1)
    assert rent.amount_varies is False and rent.monthly_equivalent == 15_000.0


def test_weekly_groceries_at_varying_merchants_are_not_recurring() -> None:
    shops = ("DMART", "BIGBASKET", "RELIANCE FRESH", "MORE SUPERMARKET")
    saturdays = [dt.date(2016, 6, 4) + dt.timedelta(weeks=w) for w in range(18)]
    rows = [row(f"{d} 11:00", 1_800 + 37 * (i % 5), shops[i % 4], "groceries", channel="POS")
            for i, d in enumerate(saturdays)]
    assert scan_recurring(statement(rows), AS_OF).payments == ()


def test_weekly_visits_to_one_shop_with_different_bills_are_a_habit_not_a_bill() -> None:
    saturdays = [dt.date(2016, 6, 4) + dt.timedelta(weeks=w) for w in range(18)]
    rows = [row(f"{d} 11:00", (1_450, 2_300, 1_900, 2_750, 1_600)[i % 5], "POS 4456 DMART THANE", "groceries")
            for i, d in enumerate(saturdays)]
    assert scan_recurring(statement(rows), AS_OF).payments == ()


def test_fixed_weekly_payment_is_weekly() -> None:
    fridays = [dt.date(2016, 8, 5) + dt.timedelta(weeks=w) for w in range(9)]   # 5 Aug .. 30 Sep
    rows = [row(f"{d} 18:00", 700, "UPI/TIFFIN SERVICE/77", "dining", channel="UPI") for d in fridays]
    (tiffin,) = scan_recurring(statement(rows), dt.date(2016, 10, 3)).payments
    assert (tiffin.interval, tiffin.day_of_month) == ("weekly", None)
    assert tiffin.next_expected == dt.date(2016, 10, 7)
    assert tiffin.monthly_equivalent == round(700 * 365.25 / 12 / 7, 2)
    assert expected_dates(tiffin, dt.date(2016, 10, 4), dt.date(2016, 10, 31)) == (
        dt.date(2016, 10, 7), dt.date(2016, 10, 14), dt.date(2016, 10, 21), dt.date(2016, 10, 28))


def test_a_weekly_charge_three_days_late_is_expected_a_week_on() -> None:
    fridays = [dt.date(2016, 8, 5) + dt.timedelta(weeks=w) for w in range(9)]   # last one 30 Sep
    rows = [row(f"{d} 18:00", 700, "UPI/TIFFIN SERVICE/77", "dining", channel="UPI") for d in fridays]
    (tiffin,) = scan_recurring(statement(rows), AS_OF).payments     # 7 Oct passed without a charge
    assert tiffin.next_expected == dt.date(2016, 10, 14)


def test_varying_electricity_bill_on_its_day_is_recurring_and_marked_varying() -> None:
    amounts = [1_210.0, 1_480.0, 1_105.0, 1_930.0, 1_640.0, 1_350.0]
    rows = [row(f"2016-{m:02d}-12 09:00", a, "BESCOM", "utilities") for m, a in zip(range(5, 11), amounts, strict=True)]
    (bill,) = scan_recurring(statement(rows), AS_OF).payments
    assert bill.amount_varies is True and bill.interval == "monthly"
    assert bill.amount == sorted(amounts[-3:])[1]            # median of the last three bills
    assert scan_recurring(statement(rows), AS_OF).alerts == ()  # a varying bill has no "price"


def test_quarterly_and_yearly_payments() -> None:
    rows = [row(f"{d} 09:00", 2_400, "LIC PREMIUM", "health") for d in ("2016-01-15", "2016-04-14", "2016-07-16",
                                                                        "2016-10-09")]
    rows += [row(f"{d} 09:00", 999, "AMAZON PRIME ANNUAL", "entertainment") for d in ("2015-10-20", "2016-10-08")]
    found = {p.merchant: p for p in scan_recurring(statement(rows), AS_OF).payments}
    assert found["LIC PREMIUM"].interval == "quarterly" and found["LIC PREMIUM"].next_expected == dt.date(2017, 1, 15)
    assert found["AMAZON PRIME ANNUAL"].interval == "yearly"
    assert found["AMAZON PRIME ANNUAL"].monthly_equivalent == round(999 / 12, 2)


def test_two_plans_at_one_operator_are_two_payments() -> None:
    rows = [row(f"2016-{m:02d}-03 08:00", 299, "UPI-AIRTEL", "utilities") for m in range(5, 11)]
    rows += [row(f"2016-{m:02d}-17 08:00", 499, "AIRTEL PAYMENTS", "utilities") for m in range(5, 10)]
    plans = scan_recurring(statement(rows), AS_OF).payments
    assert sorted((p.merchant, p.amount, p.day_of_month) for p in plans) == [("AIRTEL", 299.0, 3),
                                                                              ("AIRTEL", 499.0, 17)]


def test_subscription_among_other_purchases_at_the_same_payee_is_found() -> None:
    rows = netflix([5, 6, 7, 8, 9, 10], [199] * 6, day=9)
    rows += [row(f"2016-{m:02d}-{d:02d} 21:00", a, "NETFLIX*GIFT", "entertainment")
             for m, d, a in ((6, 20, 550.0), (8, 2, 1_200.0), (9, 21, 350.0))]
    (sub,) = scan_recurring(statement(rows), AS_OF).payments
    assert (sub.amount, sub.n_charges, sub.day_of_month) == (199.0, 6, 9)


def test_a_stopped_subscription_is_not_listed() -> None:
    rows = [row(f"2016-{m:02d}-14 07:00", 119, "SPOTIFY", "entertainment") for m in range(1, 7)]   # Jan..Jun
    assert scan_recurring(statement(rows), AS_OF).payments == ()


def test_salary_is_the_regular_income_with_its_usual_day() -> None:
    days = ["2016-05-30", "2016-06-30", "2016-07-30", "2016-08-30", "2016-09-30"]
    rows = [row(f"{d} 09:30", 52_000, "NEFT/SALARY ACME LTD", "income", kind="CREDIT", channel="NEFT") for d in days]
    rows += [row(f"2016-{m:02d}-{d:02d} 12:00", a, "UPI/RAVI CR/1", "income", kind="CREDIT")
             for m, d, a in ((6, 3, 500.0), (7, 19, 2_000.0), (9, 8, 750.0))]
    scan = scan_recurring(statement(rows), AS_OF)
    salary = scan.regular_income
    assert salary is not None and salary.txn_type == "CREDIT"
    assert (salary.merchant, salary.amount, salary.day_of_month) == ("SALARY ACME", 52_000.0, 30)
    assert salary.next_expected == dt.date(2016, 10, 30)
    assert scan.payments == ()          # credits are never listed as payments


def test_duplicate_subscription_charge_on_one_day_is_flagged() -> None:
    rows = netflix([5, 6, 7, 8, 9], [499] * 5)
    rows.append(row("2016-10-05 06:10", 499, "NETFLIX.COM", tid="A1"))
    rows.append(row("2016-10-05 09:40", 499, "NETFLIX.COM", tid="A2"))
    scan = scan_recurring(statement(rows), AS_OF)
    (dup,) = scan.alerts
    assert dup.kind == "duplicate_charge" and dup.transaction_ids == ("A1", "A2")
    assert dup.amount == 499.0 and dup.date == dt.date(2016, 10, 5) and dup.key == "duplicate_charge:A2"
    assert "₹499 twice on 5 Oct 2016" in dup.message
    assert scan.payments[0].n_charges == 6     # the second charge is not a month of its own


def test_two_coffees_are_not_a_duplicate() -> None:
    rows = [row("2016-10-08 09:00", 180, "CAFE COFFEE DAY", "dining", channel="POS"),
            row("2016-10-08 09:04", 180, "CAFE COFFEE DAY", "dining", channel="POS")]
    assert scan_recurring(statement(rows), AS_OF).alerts == ()


def test_a_double_swipe_of_a_large_amount_minutes_apart_is_flagged() -> None:
    rows = [row("2016-10-08 18:02:10", 4_599, "POS 1234 CROMA PUNE", "shopping", channel="POS", tid="S1"),
            row("2016-10-08 18:03:55", 4_599, "CROMA PUNE", "shopping", channel="POS", tid="S2")]
    (dup,) = scan_recurring(statement(rows), AS_OF).alerts
    assert dup.transaction_ids == ("S1", "S2")


def test_the_same_large_amount_at_a_shop_hours_apart_is_not_a_duplicate() -> None:
    rows = [row("2016-10-08 11:00", 4_599, "CROMA PUNE", "shopping", channel="POS"),
            row("2016-10-08 17:30", 4_599, "CROMA PUNE", "shopping", channel="POS")]
    assert scan_recurring(statement(rows), AS_OF).alerts == ()


def test_two_atm_withdrawals_or_transfers_of_the_same_amount_are_meant() -> None:
    rows = [row("2016-10-08 18:00", 10_000, "NFS ATM WDL PUNE", "cash", channel="ATM"),
            row("2016-10-08 18:02", 10_000, "NFS ATM WDL PUNE", "cash", channel="ATM"),
            row("2016-10-09 10:00", 5_000, "UPI/RAVI KUMAR/1", "transfers", channel="UPI"),
            row("2016-10-09 10:01", 5_000, "UPI/RAVI KUMAR/2", "transfers", channel="UPI")]
    assert scan_recurring(statement(rows), AS_OF).alerts == ()


def test_an_old_duplicate_is_not_raised_again() -> None:
    rows = [row("2016-06-08 18:02", 4_599, "CROMA PUNE", "shopping", channel="POS"),
            row("2016-06-08 18:03", 4_599, "CROMA PUNE", "shopping", channel="POS")]
    assert scan_recurring(statement(rows), AS_OF).alerts == ()


def test_rows_without_payee_text_invent_nothing() -> None:
    rows = [row(f"2016-{m:02d}-05 10:00", 499, None, "uncategorized", channel=None) for m in range(3, 11)]
    scan = scan_recurring(statement(rows), AS_OF)
    assert (scan.payments, scan.incomes, scan.alerts) == ((), (), ())
    assert not scan.series_rows.any()
