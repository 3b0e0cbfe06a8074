"""Admin tools: who is an admin, the audit trail, /stats and /segments figures, and broadcast planning.

A broadcast holds out a random control group (default 10% of the audience) that receives nothing, and stores
both groups, so the offer's effect can be measured later by comparing the groups' activity.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.config import Config
from bot.services.errors import FinAssistError
from bot.storage.audit import AuditStore
from bot.storage.broadcasts import BroadcastStore
from bot.storage.database import Store
from bot.storage.insight_reads import InsightReads
from bot.storage.preferences import PreferenceStore

log = logging.getLogger(__name__)

TARGET_KINDS = ("all", "segment", "churn")

# Ready-made retention offers an admin can pick instead of writing one.
RETENTION_OFFERS: tuple[str, ...] = (
    "We miss you! For the next 30 days, every UPI payment over ₹500 earns 2% cashback.",
    "Your savings could work harder: open a fixed deposit this month and get 0.25% extra interest.",
    "Zero fees on your debit card for 6 months — just keep using it at least once a month.",
)


class BroadcastError(FinAssistError):
    """A broadcast target or message that cannot be used."""


@dataclass(frozen=True)
class AdminStats:
    customers: int
    linked_chats: int
    linked_customers: int
    messages_sent: int             # proactive (outbox) plus broadcast messages delivered
    alerts_flagged: int            # transactions the detector flagged
    alerts_open: int               # "Was this you?" questions not yet answered
    disputes: int
    confirmed: int


@dataclass(frozen=True)
class SegmentRow:
    segment: int
    persona: str
    description: str
    size: int
    mean_churn: float
    high_risk: int                 # churn_level "high", as `train` stored it (the level a broadcast targets)
    medium_risk: int               # churn_level "medium"
    lapsed: int = 0                # churn_level "lapsed": no transaction in the churn look-back, already gone


@dataclass(frozen=True)
class BroadcastPlan:
    target_kind: str
    target_value: str | None
    audience: tuple[tuple[int, str], ...]     # (chat_id, customer_id), offers opt-outs removed
    opted_out: int
    control_share: float

    @property
    def control_size(self) -> int:
        return round(len(self.audience) * self.control_share)

    @property
    def treatment_size(self) -> int:
        return len(self.audience) - self.control_size


@dataclass(frozen=True)
class StartedBroadcast:
    broadcast_id: int
    treatment: tuple[tuple[int, str], ...]
    control: tuple[tuple[int, str], ...]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AdminService:
    """Everything behind the admin commands; handlers only ask and format."""

    def __init__(self, store: Store, config: Config, control_share: float = 0.10,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        if not 0.0 <= control_share < 1.0:
            raise ValueError("control_share must be in [0, 1)")
        self.store = store
        self.admin_ids = frozenset(config.telegram.admin_ids)
        self.control_share = control_share
        self.clock = clock or _utc_now
        self.audit_rows = AuditStore(store)
        self.broadcasts = BroadcastStore(store)
        self.preferences = PreferenceStore(store)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids

    def audit(self, admin_user_id: int, chat_id: int | None, action: str, **details: Any) -> None:
        with self.store.atomic():
            self.audit_rows.record(admin_user_id, chat_id, action, details, self.clock())

    def stats(self) -> AdminStats:
        c = self.audit_rows.counts()
        return AdminStats(
            customers=c["customers"], linked_chats=c["linked_chats"], linked_customers=c["linked_customers"],
            messages_sent=c["outbox_sent"] + c["broadcast_sent"], alerts_flagged=c["alerts_flagged"],
            alerts_open=c["alerts_open"], disputes=c["disputes"], confirmed=c["confirmed"],
        )

    def segments(self) -> tuple[SegmentRow, ...]:
        return tuple(SegmentRow(**row) for row in self.broadcasts.segment_overview())

    def churn_model_auc(self) -> float | None:
        """The churn model's held-out AUC from the last `train`, so staff know how far to trust churn risk."""
        auc = InsightReads(self.store).model_metrics("churn").get("auc")
        return None if auc is None or math.isnan(float(auc)) else float(auc)

    def churn_method(self) -> str | None:
        """How the last `train` made churn risk and what its levels mean (None before a `train` that says)."""
        sentence = InsightReads(self.store).model_metrics("churn").get("method_sentence")
        return str(sentence) if sentence else None

    def plan_broadcast(self, target_kind: str, target_value: str | None = None) -> BroadcastPlan:
        """The audience of a target: linked chats that match and have not switched offers off."""
        if target_kind not in TARGET_KINDS:
            raise BroadcastError(f"unknown target {target_kind!r}")
        try:
            audience = self.broadcasts.linked_audience(target_kind, target_value)
        except ValueError as exc:
            raise BroadcastError(f"bad target value {target_value!r}") from exc
        opted_out = self.preferences.opted_out("offers")
        kept = tuple(pair for pair in audience if pair[0] not in opted_out)
        return BroadcastPlan(target_kind, target_value, kept, len(audience) - len(kept), self.control_share)

    def start_broadcast(self, admin_user_id: int, plan: BroadcastPlan, message: str,
                        seed: int | None = None) -> StartedBroadcast:
        """Split the audience at random into treatment and hold-out control, store both, audit the send."""
        message = message.strip()
        if not message:
            raise BroadcastError("the message is empty")
        if len(message) > 3500:
            raise BroadcastError("the message is too long for one Telegram message")
        seed = secrets.randbits(32) if seed is None else seed
        control_idx = set(random.Random(seed).sample(range(len(plan.audience)), plan.control_size))
        treatment = tuple(p for i, p in enumerate(plan.audience) if i not in control_idx)
        control = tuple(p for i, p in enumerate(plan.audience) if i in control_idx)
        with self.store.atomic():
            broadcast_id = self.broadcasts.create(
                admin_user_id=admin_user_id, target_kind=plan.target_kind, target_value=plan.target_value,
                message=message, control_share=plan.control_share, seed=seed, treatment=list(treatment),
                control=list(control), when=self.clock(),
            )
            self.audit_rows.record(admin_user_id, None, "broadcast_send", {
                "broadcast_id": broadcast_id, "target": plan.target_kind, "value": plan.target_value,
                "audience": len(plan.audience), "control": len(control)}, self.clock())
        log.info("broadcast %d: %d to send, %d held out", broadcast_id, len(treatment), len(control))
        return StartedBroadcast(broadcast_id, treatment, control)

    def record_results(self, broadcast_id: int, results: list[tuple[int, str, str | None]]) -> None:
        with self.store.atomic():
            self.broadcasts.mark_results(broadcast_id, results, self.clock())

    def finish_broadcast(self, broadcast_id: int) -> dict[str, int]:
        with self.store.atomic():
            return self.broadcasts.finish(broadcast_id, self.clock())

    def recipients(self, broadcast_id: int) -> list[dict[str, Any]]:
        return self.broadcasts.recipients(broadcast_id)
