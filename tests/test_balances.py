"""One rule for a balance and a balance change; a debit without a balance moves the shown balance, marked
estimated until a transaction reports one again (issue 8 point 1, issue 10 item 7)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analytics.balances import BalanceHistory
from analytics.ingest import to_canonical
from analytics.money import format_inr
from bot.storage.transactions import TransactionRepository
from tests.fakes.telegram_app import data_of, running_bot
from tests.fakes.telegram_server import FakeTelegramServer


def rows(*items: tuple[str, float, str, float | None]) -> pd.DataFrame:
    """(timestamp, amount, DEBIT/CREDIT, balance or None)."""
    return pd.DataFrame([{"ts": pd.Timestamp(ts), "amount": amount, "txn_type": kind,
                          "balance": float("nan") if balance is None else balance}
                         for ts, amount, kind, balance in items])


# ---- the rule, on hand-made histories -------------------------------------------------------------------
def test_a_debit_without_a_balance_lowers_the_last_reported_one_and_is_marked_derived():
    history = BalanceHistory.of(rows(("2016-08-01 10:00", 100, "DEBIT", 5000),
                                     ("2016-08-02 10:00", 1200, "DEBIT", None),
                                     ("2016-08-03 10:00", 300, "CREDIT", None)))
    latest = history.latest()
    assert (latest.amount, latest.derived) == (5000 - 1200 + 300, True)
    assert latest.ts == pd.Timestamp("2016-08-03 10:00")


def test_a_reported_balance_ends_the_estimate():
    history = BalanceHistory.of(rows(("2016-08-01 10:00", 100, "DEBIT", 5000),
                                     ("2016-08-02 10:00", 1200, "DEBIT", None),
                                     ("2016-08-04 10:00", 50, "DEBIT", 3700)))
    assert history.latest().amount == 3700 and not history.latest().derived
    middle = history.at(pd.Timestamp("2016-08-03"))
    assert (middle.amount, middle.derived) == (3800, True)


def test_rows_before_the_first_reported_balance_are_derived_backwards():
    history = BalanceHistory.of(rows(("2016-08-01 10:00", 100, "DEBIT", None),
                                     ("2016-08-02 10:00", 400, "CREDIT", 10400)))
    assert history.at(pd.Timestamp("2016-08-01 12:00")).amount == 10000
    opening = history.at(pd.Timestamp("2016-07-01"))
    assert (opening.amount, opening.derived, opening.ts) == (10100, True, None)


def test_no_reported_balance_anywhere_means_unknown():
    history = BalanceHistory.of(rows(("2016-08-01 10:00", 100, "DEBIT", None)))
    assert history.latest() is None and history.change(pd.Timestamp("2016-07-01"), pd.Timestamp("2016-09-01")) == (
        None, None, None)


# ---- through the facade, on a trained store -------------------------------------------------------------
def _customer(services) -> str:
    return services.store.db.execute(
        "SELECT customer_id FROM transactions GROUP BY customer_id ORDER BY COUNT(*) DESC, customer_id LIMIT 1"
    ).fetchone()[0]


def _running_balance(services, customer: str, until: str) -> float:
    """The balance after the customer's last transaction at or before `until`, by a plain loop over SQL rows:
    a reported balance resets it, a row without one moves it by its amount."""
    balance = None
    for amount, kind, reported in services.store.db.execute(
            "SELECT amount, txn_type, balance FROM transactions WHERE customer_id = ? AND ts <= ? "
            "ORDER BY ts, transaction_id", (customer, until)):
        if reported is not None:
            balance = reported
        elif balance is not None:
            balance += amount if kind == "CREDIT" else -amount
    assert balance is not None
    return round(balance, 2)


def _add(services, **row) -> None:
    with services.store.atomic():
        TransactionRepository(services.store).insert_frame(to_canonical(pd.DataFrame([row])), source="test")


def test_facade_balance_follows_a_debit_that_came_without_a_balance(trained_services):
    svc, customer = trained_services.insights, _customer(trained_services)
    before = svc.balance(customer)
    when = pd.Timestamp(svc.as_of()) + pd.Timedelta(hours=30)
    _add(trained_services, transaction_id="TNOBAL1", customer_id=customer, ts=when, amount=1500.0,
         balance=None, txn_type="DEBIT", merchant="CROMA")
    after = svc.balance(customer)
    assert after.amount == pytest.approx(before.amount - 1500.0, abs=0.005)
    assert after.derived and after.as_of == when.to_pydatetime()
    _add(trained_services, transaction_id="TNOBAL2", customer_id=customer, ts=when + pd.Timedelta(hours=1),
         amount=10.0, balance=777.0, txn_type="DEBIT")
    reported = svc.balance(customer)
    assert (reported.amount, reported.derived, reported.is_low) == (777.0, False, True)


def test_facade_30_day_change_and_monthly_report_equal_a_plain_loop_over_sql(trained_services):
    svc, customer = trained_services.insights, _customer(trained_services)
    info = svc.balance(customer)
    latest_ts = pd.Timestamp(info.as_of)
    then = (latest_ts - pd.Timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
    now = latest_ts.strftime("%Y-%m-%d %H:%M:%S")
    assert info.amount == pytest.approx(_running_balance(trained_services, customer, now), abs=0.01)
    assert info.change_30d == pytest.approx(
        _running_balance(trained_services, customer, now) - _running_balance(trained_services, customer, then),
        abs=0.01)
    report = svc.report(customer)
    first = dt.date.fromisoformat(report.month + "-01")
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    start = _running_balance(trained_services, customer, f"{(first - dt.timedelta(days=1)).isoformat()} 23:59:59")
    end = _running_balance(trained_services, customer, f"{last.isoformat()} 23:59:59")
    assert (report.balance_start, report.balance_end) == (pytest.approx(start, abs=0.01), pytest.approx(end, abs=0.01))
    assert report.balance_change == pytest.approx(end - start, abs=0.01)


async def test_balance_over_telegram_says_estimated_after_a_debit_without_balance(trained_services):
    svc, customer = trained_services.insights, _customer(trained_services)
    expected = svc.balance(customer).amount - 2500.0
    _add(trained_services, transaction_id="TNOBAL3", customer_id=customer,
         ts=pd.Timestamp(svc.as_of()) + pd.Timedelta(hours=30), amount=2500.0, balance=None, txn_type="DEBIT")
    chat = 3101
    async with FakeTelegramServer() as fake, running_bot(trained_services, fake) as app:
        await fake.ask(chat, chat, f"/start {data_of(app).linking.issue_code(customer).code}")
        reply = await fake.ask(chat, chat, "/balance")
        answer = await fake.ask(chat, chat, "what's my balance?")
    assert f"{format_inr(expected)} (estimated)" in reply.text
    assert format_inr(expected) in answer.text and "estimated" in answer.text


def test_cli_insights_and_report_mark_the_estimate(trained_services):
    from bot.plain_text import insights_text, report_text

    svc, customer = trained_services.insights, _customer(trained_services)
    report_month = svc.report_month()
    month_end = pd.Timestamp(report_month + "-01") + pd.offsets.MonthEnd(0) + pd.Timedelta(hours=23)
    _add(trained_services, transaction_id="TNOBAL4", customer_id=customer, ts=month_end, amount=99.0,
         balance=None, txn_type="DEBIT")
    text = insights_text(svc.insights(customer))
    assert f"Balance: {format_inr(svc.balance(customer).amount)} " in text   # a later row reported one
    report = svc.report(customer)
    assert report.balance_estimated and report_text(report).splitlines()[4].endswith("(estimated)")
