"""Answers to "Was this you?": one answer per transaction, only from a chat that was asked and is still linked.

A button names the question's outbox row (`fraud:y:<id>`); an answer counts only when that row is a
"Was this you?" for this very chat whose send was attempted (sent, or sent with an unknown outcome). So a
forged `fraud:n:<x>` for a transaction nobody asked this chat about files no dispute.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol

from bot.storage.database import Store
from bot.storage.fraud_checks import FraudCheckRepository, TransactionFacts
from bot.storage.outbox import OutboxMessage, OutboxRepository

log = logging.getLogger(__name__)

# Outcomes of one button press.
CONFIRMED = "confirmed"          # this press stored "Yes, it was me"
DISPUTED = "disputed"            # this press stored "No": block the card, tell the fraud team
ALREADY_ANSWERED = "already_answered"
NOT_YOURS = "not_yours"          # the chat is not linked to the transaction's customer
UNKNOWN = "unknown"              # no such transaction
NOT_ASKED = "not_asked"          # this chat was never sent that question (a forged or stale button)


class ChatLinks(Protocol):
    def customer_for_chat(self, chat_id: int) -> str | None: ...


@dataclass(frozen=True)
class FraudAnswer:
    """What one press did, with what the channel needs to tell the customer and the fraud team."""

    outcome: str
    status: str | None               # the stored status after the press ("confirmed"/"disputed"/"pending")
    answered_at: dt.datetime | None  # when the stored answer was given (this press or an earlier one)
    transaction: TransactionFacts | None


class FraudCheckService:
    """Stores customers' answers; the detector reads them back as labels via FraudCheckRepository.labels()."""

    def __init__(self, store: Store, linking: ChatLinks) -> None:
        self.repo = FraudCheckRepository(store)
        self.outbox = OutboxRepository(store)
        self.store = store
        self.linking = linking

    @staticmethod
    def _asked(row: OutboxMessage | None, chat_id: int) -> str | None:
        """The transaction id of a question that went (or may have gone) to this chat, else None."""
        if row is None or row.kind != "unusual" or row.chat_id != int(chat_id):
            return None
        if row.status not in ("sending", "sent") and row.attempts == 0:
            return None  # queued but never sent: nobody can have seen its buttons
        transaction_id = (row.payload.get("meta") or {}).get("transaction_id")
        return str(transaction_id) if transaction_id else None

    def answer_question(self, chat_id: int, outbox_id: int, was_customer: bool,
                        now: dt.datetime | None = None) -> FraudAnswer:
        """A press of `fraud:y:<outbox_id>` / `fraud:n:<outbox_id>` in `chat_id`."""
        transaction_id = self._asked(self.outbox.get(outbox_id), chat_id)
        if transaction_id is None:
            log.warning("fraud answer refused: no such question was sent to this chat")
            return FraudAnswer(NOT_ASKED, None, None, None)
        return self._answer(chat_id, transaction_id, was_customer, now)

    def answer(self, chat_id: int, transaction_id: str, was_customer: bool,
               now: dt.datetime | None = None) -> FraudAnswer:
        """A press of an older button that named the transaction (`fraud:yes:<txn>`), still in customers' chats."""
        if self._asked(self.outbox.by_key(f"unusual:{transaction_id}:{int(chat_id)}"), chat_id) is None:
            log.warning("fraud answer refused: no such question was sent to this chat")
            return FraudAnswer(NOT_ASKED, None, None, None)
        return self._answer(chat_id, transaction_id, was_customer, now)

    def _answer(self, chat_id: int, transaction_id: str, was_customer: bool,
                now: dt.datetime | None) -> FraudAnswer:
        """Record Yes (`was_customer=True`) or No from `chat_id`; a second press changes nothing."""
        now = now or dt.datetime.now(dt.UTC)
        facts = self.repo.transaction_facts(transaction_id)
        check = self.repo.get(transaction_id)
        owner = check.customer_id if check else (facts.customer_id if facts else None)
        if owner is None:
            return FraudAnswer(UNKNOWN, None, None, None)
        if self.linking.customer_for_chat(chat_id) != owner:
            log.warning("fraud answer refused: chat is not linked to the transaction's customer")
            return FraudAnswer(NOT_YOURS, None, None, None)
        status = CONFIRMED if was_customer else DISPUTED
        with self.store.atomic():
            if check is None:  # sent, but its outcome was unknown (a timeout): the check opens with the answer
                self.repo.create(transaction_id=transaction_id, customer_id=owner, chat_id=chat_id,
                                 message_id=None, created_at=now)
            stored = self.repo.answer(transaction_id, status=status, chat_id=chat_id, answered_at=now)
            current = self.repo.get(transaction_id)
        assert current is not None
        if not stored:
            return FraudAnswer(ALREADY_ANSWERED, current.status, current.answered_at, facts)
        log.info("fraud check %s answered: %s", transaction_id, status)
        return FraudAnswer(status, status, now, facts)
