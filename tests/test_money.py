"""Indian money and date formatting, one helper for every channel."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.money import format_date, format_inr, format_percent, group_indian


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "₹0.00"),
        (5, "₹5.00"),
        (999.999, "₹1,000.00"),
        (123456.5, "₹1,23,456.50"),
        (12345678.9, "₹1,23,45,678.90"),
        (100000, "₹1,00,000.00"),
        (-2500.25, "-₹2,500.25"),
        (1234567890, "₹1,23,45,67,890.00"),
    ],
)
def test_format_inr_uses_lakh_grouping(amount: float, text: str) -> None:
    assert format_inr(amount) == text


def test_whole_rupees_and_sign() -> None:
    assert format_inr(123456.5, paise=False) == "₹1,23,457"
    assert format_inr(500, sign=True) == "+₹500.00"


def test_group_indian_matches_an_independent_rule() -> None:
    for n in (1, 12, 123, 1234, 12345, 123456, 1234567, 98765432101):
        digits = str(n)
        expected = digits if len(digits) <= 3 else None
        if expected is None:
            head, tail = digits[:-3], digits[-3:]
            pairs = [head[max(0, i - 2):i] for i in range(len(head), 0, -2)][::-1]
            expected = ",".join(pairs + [tail])
        assert group_indian(digits) == expected


def test_dates_read_day_month_year_without_leading_zero() -> None:
    assert format_date(dt.date(2016, 8, 5)) == "5 Aug 2016"
    assert format_date(dt.datetime(2016, 10, 21, 14, 32)) == "21 Oct 2016"


def test_percent() -> None:
    assert format_percent(0.304) == "30%"
    assert format_percent(0.3049, 1) == "30.5%"
