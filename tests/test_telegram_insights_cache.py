"""The bot's read-through cache over the facade: hits within the TTL (an injected clock), expiry, invalidation
of one customer or all, errors and chart-writing calls never cached, least-recently-used eviction; and over the
wire, a cached figure stays until the cache is invalidated."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from analytics.money import format_inr
from bot.config import Config
from bot.container import build_services
from bot.services.ingestion import ingest_files
from bot.storage.links import LinkStore
from bot.telegram.insights_cache import CachedInsights
from tests.fakes.telegram_app import data_of, running_bot
from tests.fakes.telegram_server import FakeTelegramServer


class CountingFacade:
    """Stands in for the facade: answers are derived from the arguments and every real call is counted."""

    version = "v1"                      # a plain attribute: passes straight through

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.fail_next = False

    def balance(self, customer_id: str, threshold: float | None = None) -> tuple:
        self.calls["balance"] += 1
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("store busy")
        return ("balance", customer_id, threshold, self.calls["balance"])

    def spending(self, customer_id: str, month: str | None = None) -> tuple:
        self.calls["spending"] += 1
        return ("spending", customer_id, month, self.calls["spending"])

    def report(self, customer_id: str, month: str | None = None, chart_path: str | None = None) -> tuple:
        self.calls["report"] += 1
        return ("report", customer_id, self.calls["report"])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cache():
    inner, clock = CountingFacade(), Clock()
    return CachedInsights(inner, ttl=30.0, clock=clock), inner, clock


def test_a_repeated_call_within_the_ttl_is_a_hit(cache):
    cached, inner, clock = cache
    first = cached.balance("C1", 2000.0)
    clock.now += 29.9
    assert cached.balance("C1", 2000.0) == first
    assert inner.calls["balance"] == 1 and (cached.hits, cached.misses) == (1, 1)


def test_other_arguments_are_other_entries(cache):
    cached, inner, _ = cache
    cached.balance("C1", 2000.0)
    cached.balance("C1", 5000.0)
    cached.balance("C2", 2000.0)
    cached.spending("C1", month="2016-09")
    cached.spending("C1", month="2016-10")
    assert inner.calls == Counter(balance=3, spending=2) and cached.hits == 0


def test_an_entry_expires_after_the_ttl(cache):
    cached, inner, clock = cache
    cached.balance("C1")
    clock.now += 30.0                   # the entry lived [1000, 1030): at 1030 it is gone
    assert cached.balance("C1")[-1] == 2
    assert inner.calls["balance"] == 2


def test_invalidating_one_customer_keeps_the_others(cache):
    cached, inner, _ = cache
    cached.balance("C1")
    cached.spending("C1", "2016-09")
    cached.balance("C2")
    cached.invalidate("C1")
    cached.balance("C1")
    cached.spending("C1", "2016-09")
    cached.balance("C2")
    assert inner.calls == Counter(balance=3, spending=2)     # C1's two recomputed, C2's a hit
    assert cached.hits == 1


def test_invalidating_everything_recomputes_everything(cache):
    cached, inner, _ = cache
    cached.balance("C1")
    cached.balance("C2")
    cached.invalidate()
    cached.balance("C1")
    cached.balance("C2")
    assert inner.calls["balance"] == 4 and cached.hits == 0


def test_an_error_is_not_cached(cache):
    cached, inner, _ = cache
    inner.fail_next = True
    with pytest.raises(RuntimeError, match="store busy"):
        cached.balance("C1")
    assert cached.balance("C1")[0] == "balance"
    assert inner.calls["balance"] == 2


def test_report_writes_a_chart_so_it_is_never_cached_and_attributes_pass_through(cache):
    cached, inner, _ = cache
    cached.report("C1", "2016-09", "/tmp/a.png")
    cached.report("C1", "2016-09", "/tmp/a.png")
    assert inner.calls["report"] == 2 and cached.version == "v1"


def test_the_least_recently_used_entry_is_evicted_first():
    inner = CountingFacade()
    cached = CachedInsights(inner, ttl=30.0, max_entries=2, clock=Clock())
    cached.balance("C1")
    cached.balance("C2")
    cached.balance("C1")                # a hit: C1 is now the most recent
    cached.balance("C3")                # evicts C2
    cached.balance("C1")                # still cached
    cached.balance("C2")                # recomputed
    assert inner.calls["balance"] == 4 and cached.hits == 2


CHAT = 3301
ROWS = ("TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,CustAccountBalance,TransactionDate,"
        "TransactionTime,TransactionAmount (INR)\n"
        "K1,C1,1/1/90,M,PUNE,9000,2/8/16,120000,500\n")
LATER = ("TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,CustAccountBalance,TransactionDate,"
         "TransactionTime,TransactionAmount (INR)\n"
         "K2,C1,1/1/90,M,PUNE,4321.5,3/8/16,120000,4678.5\n")


async def test_over_the_wire_a_cached_balance_stays_until_the_cache_is_invalidated(tmp_path):
    (tmp_path / "rows.csv").write_text(ROWS)
    (tmp_path / "later.csv").write_text(LATER)
    services = build_services(Config().with_db(tmp_path / "cache.db"))
    try:
        ingest_files(services.store, [tmp_path / "rows.csv"])
        LinkStore(services.store).link(CHAT, "C1", CHAT, dt.datetime.now(dt.UTC))
        async with FakeTelegramServer() as fake, running_bot(services, fake, insights_cache_ttl=3600) as app:
            before = await fake.ask(CHAT, CHAT, "/balance")
            ingest_files(services.store, [tmp_path / "later.csv"])        # a new balance is in the store now
            cached = await fake.ask(CHAT, CHAT, "/balance")
            data_of(app).insights.invalidate("C1")
            fresh = await fake.ask(CHAT, CHAT, "/balance")
    finally:
        services.close()
    assert format_inr(9000) in before.text
    assert format_inr(9000) in cached.text                      # within the TTL: the cached figure
    assert format_inr(4321.5) in fresh.text                     # after invalidate: the stored one
