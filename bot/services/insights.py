"""THE facade: everything about customer X. Every channel (CLI, Telegram, LLM tools, notifications, REST)
reads figures only through `InsightsService`, so every channel shows the same numbers.

Interface (implementation is being filled in; signatures are stable):

    svc = InsightsService(store, config)
    svc.as_of() -> date                                   # contract §2 analytics clock
    svc.customer_exists(cid) -> bool
    svc.profile(cid) -> CustomerProfile
    svc.balance(cid, low_balance_threshold=None) -> BalanceInfo
    svc.spending(cid, month=None) -> SpendingSummary      # month "YYYY-MM"; None = last complete month
    svc.this_month(cid) -> SpendingSummary                # from the 1st of as_of's month to as_of
    svc.budget(cid) -> BudgetPlan
    svc.anomalies(cid, limit=5, include_answered=False) -> tuple[AnomalyFlag, ...]
    svc.segment(cid) -> SegmentInfo | None
    svc.churn(cid) -> ChurnRisk | None
    svc.recommendations(cid, kind=None, limit=3) -> tuple[Recommendation, ...]
    svc.report(cid, month=None, chart_path=None) -> MonthlyReport   # writes the PNG when chart_path is given
    svc.transactions(cid, month=None, limit=None) -> tuple[TransactionBrief, ...]
    svc.months_available(cid) -> tuple[str, ...]
    svc.insights(cid) -> CustomerInsights
Raises bot.services.errors.CustomerNotFound for an unknown ID, InvalidMonth for a bad month.
"""

from __future__ import annotations

from bot.config import Config
from bot.storage.database import Store


class InsightsService:
    """Placeholder while the facade is being written (see module docstring for the interface)."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
