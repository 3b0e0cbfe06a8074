"""Admin tools: who is an admin, the audit trail, /stats and /segments figures, and broadcast planning.

A broadcast holds out a random control group (default 10% of the audience) that receives nothing, and stores
both groups. The treatment's messages are outbox rows (kind retention_offer, one dedupe key per broadcast and
chat), so a broadcast resumes after a crash and reaches each recipient once; its progress is read from those
rows. Thirty days of data later the groups' activity shows whether the offer worked (`broadcast_reports`).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import math
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analytics.uplift import GroupComparison, compare_groups
from bot.config import Config
from bot.services.errors import FinAssistError
from bot.storage.audit import AuditStore
from bot.storage.broadcasts import BroadcastStore
from bot.storage.database import Store
from bot.storage.handoffs import CLOSED, EXPIRED, OPEN, HandoffRepository
from bot.storage.insight_reads import InsightReads
from bot.storage.outbox import OutboxRepository
from bot.storage.preferences import PreferenceStore

log = logging.getLogger(__name__)

TARGET_KINDS = ("all", "segment", "churn")
UPLIFT_WINDOW_DAYS = 30

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
    # Delivery and answers (issue 9, issue 8 point 6), additive:
    messages_pending: int = 0      # queued or being sent (including retries and quiet-hours waits)
    messages_dead: int = 0         # dead-lettered: retries exhausted or a permanent error
    messages_dropped: int = 0      # the chat blocked the bot, unlinked or opted out before delivery
    unknown_outcomes: int = 0      # sends whose outcome never came back (each retried later)
    answered_precision: float | None = None   # disputed / (disputed + confirmed): alerts that were fraud
    broadcasts: tuple[BroadcastReport, ...] = ()
    # Talk to a person (issue 10), additive:
    handoffs_open: int = 0         # requests for a person the support team has not closed (nor expired)
    handoffs_total: int = 0        # every request that reached the support chat (open, closed or expired)


@dataclass(frozen=True)
class BroadcastProgress:
    """A broadcast's treatment recipients by the state of their outbox rows."""

    broadcast_id: int
    total: int
    sent: int
    failed: int                    # dead-lettered or dropped (blocked the bot, unlinked, opted out)
    waiting: int                   # due later: quiet hours, a flood wait or a retry
    due: int                       # due now or being sent
    finished: bool

    @property
    def done(self) -> int:
        return self.sent + self.failed


@dataclass(frozen=True)
class BroadcastReport:
    """One broadcast for /stats: its delivery and, in data time, the uplift of the offer."""

    broadcast_id: int
    created_at: str
    target_kind: str
    target_value: str | None
    progress: BroadcastProgress
    control_size: int
    as_of: dt.date | None          # the analytics date when it started (None: started before this was kept)
    window_end: dt.date | None     # as_of + 30 days
    days_observed: int             # days of that window the store has data for
    comparison: GroupComparison | None   # None until both groups have someone to compare


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
                 clock: Callable[[], dt.datetime] | None = None,
                 as_of: Callable[[], dt.date] | None = None) -> None:
        """`as_of` is the facade's analytics date (InsightsService.as_of): the uplift is measured in data time."""
        if not 0.0 <= control_share < 1.0:
            raise ValueError("control_share must be in [0, 1)")
        self.store = store
        self.as_of = as_of
        self.outbox = OutboxRepository(store)
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

    def stats(self, broadcasts: int = 3) -> AdminStats:
        """The admin figures; `broadcasts` recent broadcasts with their uplift."""
        c = self.audit_rows.counts()
        handoffs = HandoffRepository(self.store).counts()
        answered = c["disputes"] + c["confirmed"]
        return AdminStats(
            customers=c["customers"], linked_chats=c["linked_chats"], linked_customers=c["linked_customers"],
            messages_sent=c["outbox_sent"] + c["broadcast_sent"], alerts_flagged=c["alerts_flagged"],
            alerts_open=c["alerts_open"], disputes=c["disputes"], confirmed=c["confirmed"],
            messages_pending=c["outbox_pending"], messages_dead=c["outbox_dead"],
            messages_dropped=c["outbox_dropped"], unknown_outcomes=c["outbox_unknown"],
            answered_precision=c["disputes"] / answered if answered else None,
            broadcasts=self.broadcast_reports(broadcasts) if broadcasts else (),
            handoffs_open=handoffs[OPEN], handoffs_total=handoffs[OPEN] + handoffs[CLOSED] + handoffs[EXPIRED],
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
        """Split the audience at random into treatment and hold-out control, store both, queue one outbox row
        per treatment chat (the sender delivers them, after each chat's quiet hours), audit the send."""
        message = message.strip()
        if not message:
            raise BroadcastError("the message is empty")
        if len(message) > 3500:
            raise BroadcastError("the message is too long for one Telegram message")
        seed = secrets.randbits(32) if seed is None else seed
        control_idx = set(random.Random(seed).sample(range(len(plan.audience)), plan.control_size))
        treatment = tuple(p for i, p in enumerate(plan.audience) if i not in control_idx)
        control = tuple(p for i, p in enumerate(plan.audience) if i in control_idx)
        as_of = self._analytics_date()
        now = self.clock()
        with self.store.atomic():
            broadcast_id = self.broadcasts.create(
                admin_user_id=admin_user_id, target_kind=plan.target_kind, target_value=plan.target_value,
                message=message, control_share=plan.control_share, seed=seed, treatment=list(treatment),
                control=list(control), when=now, as_of=as_of,
            )
            queued = []
            for chat_id, customer_id in treatment:
                outbox_id = self.outbox.enqueue(
                    chat_id=chat_id, kind="retention_offer", dedupe_key=f"broadcast:{broadcast_id}:{chat_id}",
                    payload={"text": html.escape(message, quote=False), "photo": None, "buttons": None,
                             "meta": {"customer_id": customer_id, "broadcast_id": broadcast_id}},
                    created_at=now, due_at=now)
                if outbox_id is not None:
                    queued.append((chat_id, outbox_id))
            self.broadcasts.attach_outbox(broadcast_id, queued)
            self.broadcasts.finish_if_complete(broadcast_id, now)   # an empty treatment is done at once
            self.audit_rows.record(admin_user_id, None, "broadcast_send", {
                "broadcast_id": broadcast_id, "target": plan.target_kind, "value": plan.target_value,
                "audience": len(plan.audience), "control": len(control)}, now)
        log.info("broadcast %d: %d queued, %d held out", broadcast_id, len(treatment), len(control))
        return StartedBroadcast(broadcast_id, treatment, control)

    def _analytics_date(self) -> dt.date | None:
        if self.as_of is None:
            return None
        try:
            return self.as_of()
        except FinAssistError as exc:   # an empty store has no analytics date: no uplift to measure later
            log.info("broadcast without an analytics date: %s", exc)
            return None

    def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        """Where the admin's progress message is, so any later pass (after a restart too) can update it."""
        with self.store.atomic():
            self.broadcasts.set_progress_message(broadcast_id, chat_id, message_id)

    def broadcast_progress(self, broadcast_id: int) -> BroadcastProgress:
        row = self.broadcasts.get(broadcast_id)
        if row is None:
            raise BroadcastError(f"no broadcast #{broadcast_id}")
        counts = self.broadcasts.progress(broadcast_id, self.clock())
        return BroadcastProgress(broadcast_id, sum(counts.values()), counts["sent"], counts["failed"],
                                 counts["waiting"], counts["due"], row["status"] == "done")

    def progress_messages(self, broadcast_ids: frozenset[int] | set[int]) -> list[tuple[BroadcastProgress, int, int]]:
        """(progress, chat_id, message_id) of the given broadcasts that have an admin progress message."""
        found = []
        for broadcast_id in sorted(broadcast_ids):
            row = self.broadcasts.get(broadcast_id)
            if row and row.get("progress_message_id"):
                found.append((self.broadcast_progress(broadcast_id), int(row["progress_chat_id"]),
                              int(row["progress_message_id"])))
        return found

    def broadcast_reports(self, limit: int = 3) -> tuple[BroadcastReport, ...]:
        """The most recent broadcasts with delivery and uplift (treatment delivered vs control, data time)."""
        latest = self.broadcasts.latest_transaction_date()
        return tuple(self._report(row, latest) for row in self.broadcasts.recent(limit))

    def _report(self, row: dict[str, Any], latest: dt.date | None) -> BroadcastReport:
        broadcast_id = int(row["broadcast_id"])
        as_of = dt.date.fromisoformat(row["as_of"]) if row.get("as_of") else None
        window_end = as_of + dt.timedelta(days=UPLIFT_WINDOW_DAYS) if as_of else None
        days = 0
        comparison = None
        if as_of is not None and window_end is not None:
            if latest is not None:
                days = max(0, min((min(latest, window_end) - as_of).days, UPLIFT_WINDOW_DAYS))
            treated: dict[str, int] = {}
            held: dict[str, int] = {}
            for group, customer_id, n in self.broadcasts.activity(broadcast_id, as_of, window_end):
                (treated if group == "treatment" else held)[customer_id] = n
            control = [n for customer, n in held.items() if customer not in treated]  # two chats, one person
            if treated and control:
                comparison = compare_groups(list(treated.values()), control)
        return BroadcastReport(
            broadcast_id=broadcast_id, created_at=str(row["created_at"]), target_kind=str(row["target_kind"]),
            target_value=row.get("target_value"), progress=self.broadcast_progress(broadcast_id),
            control_size=int(row["control_size"]), as_of=as_of, window_end=window_end, days_observed=days,
            comparison=comparison)

    def recipients(self, broadcast_id: int) -> list[dict[str, Any]]:
        return self.broadcasts.recipients(broadcast_id)
