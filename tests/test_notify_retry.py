"""The retry schedule (doubling, capped, then dead letter) and the analytics of a broadcast's uplift."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from analytics.uplift import compare_groups
from bot.notify.retry import RetrySchedule


def test_delays_double_from_the_first_up_to_the_cap():
    schedule = RetrySchedule(first_s=30, max_s=4 * 3600, give_up_s=24 * 3600)
    assert [schedule.delay(n) for n in range(1, 11)] == [30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 14400]
    assert schedule.delay(25) == 14400


def test_the_default_schedule_keeps_trying_for_a_day_then_gives_up():
    schedule = RetrySchedule()
    # 30 s doubling to 4 h: 9 delays add up to 15,330 s, then 4 h each; past 86,400 s after the 14th failure.
    assert schedule.waited(13) == 30 + 60 + 120 + 240 + 480 + 960 + 1920 + 3840 + 7680 + 4 * 14400
    assert not schedule.gives_up(13) and schedule.gives_up(14)


def test_next_due_is_now_plus_the_delay():
    now = dt.datetime(2026, 3, 10, 6, 30, tzinfo=dt.UTC)
    assert RetrySchedule(first_s=10, max_s=100).next_due(3, now) == now + dt.timedelta(seconds=40)


def test_a_schedule_that_could_never_retry_is_refused():
    with pytest.raises(ValueError):
        RetrySchedule(first_s=60, max_s=30)


def test_uplift_compares_share_active_and_transactions_per_customer():
    treatment, control = [2, 0, 3, 1, 0], [0, 1, 0, 0]
    result = compare_groups(treatment, control)
    # By hand: active 3/5 vs 1/4; means 6/5 = 1.2 vs 1/4 = 0.25.
    assert (result.n_treatment, result.n_control) == (5, 4)
    assert result.active.difference == pytest.approx(0.6 - 0.25)
    half = 1.959963984540054 * math.sqrt(0.6 * 0.4 / 5 + 0.25 * 0.75 / 4)
    assert (result.active.low, result.active.high) == (pytest.approx(0.35 - half), pytest.approx(0.35 + half))
    var_t = sum((x - 1.2) ** 2 for x in treatment) / 4      # 1.7
    var_c = sum((x - 0.25) ** 2 for x in control) / 3       # 0.25
    half = 1.959963984540054 * math.sqrt(var_t / 5 + var_c / 4)
    assert result.per_customer.difference == pytest.approx(0.95)
    assert result.per_customer.high == pytest.approx(0.95 + half)


def test_uplift_has_no_interval_for_a_group_of_one():
    result = compare_groups([3], [0, 1])
    assert result.per_customer.difference == pytest.approx(2.5) and result.per_customer.low is None
