"""Month arithmetic of the analytics clock (contract §2)."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.periods import (
    is_complete,
    last_complete_month,
    month_bounds,
    next_month,
    parse_month,
    previous_month,
    this_month,
)


def test_last_complete_month_is_the_month_before_as_of():
    assert last_complete_month(dt.date(2016, 10, 21)) == "2016-09"


def test_last_complete_month_in_january_is_previous_december():
    assert last_complete_month(dt.date(2017, 1, 3)) == "2016-12"


def test_a_month_ending_on_as_of_is_not_complete_yet():
    assert last_complete_month(dt.date(2016, 8, 31)) == "2016-07"
    assert not is_complete("2016-08", dt.date(2016, 8, 31))
    assert is_complete("2016-08", dt.date(2016, 9, 1))


def test_this_month_contains_as_of():
    assert this_month(dt.date(2016, 8, 2)) == "2016-08"


def test_month_bounds_know_leap_years():
    assert month_bounds("2016-02") == (dt.date(2016, 2, 1), dt.date(2016, 2, 29))
    assert month_bounds("2015-02") == (dt.date(2015, 2, 1), dt.date(2015, 2, 28))


def test_previous_and_next_month_cross_years():
    assert previous_month("2016-01") == "2015-12"
    assert next_month("2016-12") == "2017-01"


@pytest.mark.parametrize("text", ["2016-08", "2016-8", "08/2016", "August 2016", "aug 2016", " 2016-08 "])
def test_parse_month_accepts_common_spellings(text):
    assert parse_month(text) == "2016-08"


@pytest.mark.parametrize("text", ["2016-13", "last month", "", "2016", "13/2016"])
def test_parse_month_refuses_nonsense_with_a_hint(text):
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month(text)
