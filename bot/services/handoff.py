"""Talk to a person: a customer's request goes to the bank's support chat with a reference; staff answer by reply.

What happens, and why:

- **Where it goes.** `[telegram] support_chat_id`, else `fraud_team_chat_id`; with both 0 nobody can take it,
  nothing is stored, and the customer is told so and how else to reach the bank.
- **One open handoff per chat.** The first request opens one (migration 0009: a partial unique index) and
  sends ONE message to the support chat. Further requests add to it: while no one has answered yet they edit
  that message (the team sees one up-to-date request, not a stream); once staff have replied, each is sent
  as a reply to it, which is a conversation rather than spam. An open handoff with no activity for
  `open_for` (3 days) expires, and the next request opens a new one. At most `MAX_REQUESTS` requests a
  handoff are forwarded.
- **What the support team sees.** The reference, the customer ID (staff look the account up with it), when
  and how it was asked (/human, in words, or the offer button), the question, and the last
  `CONTEXT_TURNS` turns of the conversation with the assistant, each cut short, because "it can't help"
  means little without them. Never a date of birth (the answer to identity questions: every form of the
  customer's own DOBs and any date after "dob"/"born" are removed) nor a full card or account number (last
  four digits kept); no location, age or gender fields either: staff have the account for those.
- **Answers.** Staff reply to the handoff message in the support chat; the reply goes to the customer's chat
  (only if that chat is still linked to the same customer) and is stored. A reply of `/close` closes it and
  tells the customer.

Telegram stays outside: the handler hands in a `SupportChannel` that sends and edits messages.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.llm.privacy import remove_birth_dates
from bot.services.errors import CustomerNotFound, NoData
from bot.storage.database import Store
from bot.storage.handoffs import (
    CLOSED,
    CUSTOMER,
    EXPIRED,
    OPEN,
    STAFF,
    UNDELIVERED,
    Handoff,
    HandoffRepository,
)

log = logging.getLogger(__name__)

OPEN_FOR = dt.timedelta(days=3)      # an open handoff with no request or reply for this long has expired
MAX_REQUESTS = 20                    # customer requests forwarded per handoff (more: the team has enough)
CONTEXT_TURNS = 3                    # (customer, assistant) turns of the conversation before it
MAX_QUESTION = 1000                  # characters of one request kept
MAX_TURN_TEXT = 300                  # characters of one turn of context
MAX_SUPPORT_MESSAGE = 3800           # Telegram allows 4096; room for the escaping
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I/L: read out over the phone
CLOSE_COMMAND = "/close"
SOURCES = {"command": "/human", "assistant": "asked the assistant for a person", "offer": "the assistant's offer"}

# What the customer is told (plain text; the channel escapes it).
NO_ONE_TEXT = ("I'm sorry: no one from the bank can take chats here at the moment, so I can't pass your question "
               "on. Please call the number on the back of your card or visit your branch.")
UNDELIVERED_TEXT = ("I couldn't reach our support team just now, so your question was not passed on. Please send "
                    "/human again in a few minutes, or call the number on the back of your card.")
NO_QUESTION = "(no question given)"


class SupportUnreachable(RuntimeError):
    """The support chat (or the customer's chat) could not be sent to; the channel raises it."""


class SupportChannel(Protocol):
    """How the service reaches a chat (the Telegram handler adapts its Bot to this)."""

    async def send(self, chat_id: int, html_text: str, reply_to: int | None = None) -> int: ...   # message id
    async def edit(self, chat_id: int, message_id: int, html_text: str) -> None: ...


OPENED, ADDED, FULL, UNAVAILABLE, FAILED = "opened", "added", "full", "unavailable", "undelivered"


@dataclass(frozen=True)
class HandoffResult:
    outcome: str                     # opened, added, full, unavailable, undelivered
    reference: str | None
    text: str                        # what to tell the customer (plain text)


@dataclass(frozen=True)
class StaffReplyResult:
    outcome: str                     # "relayed", "closed", "not_a_handoff", "finished", "unlinked", "undelivered"
    reference: str | None = None
    note: str | None = None          # what to tell the support chat (plain text), when anything


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_reference() -> str:
    """A short reference ("H-7K3QD9"): random, so it says nothing about how many handoffs there are."""
    return "H-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def _html(text: str) -> str:
    """Text for a Telegram HTML message (quotes need no escaping there)."""
    return escape(text, quote=False)


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class HandoffService:
    """Opens, adds to, relays and closes handoffs; the one place their rules live."""

    def __init__(self, store: Store, config: Config, insights: Any = None,
                 customer_for_chat: Callable[[int], str | None] | None = None,
                 clock: Callable[[], dt.datetime] | None = None, open_for: dt.timedelta = OPEN_FOR) -> None:
        self.store = store
        self.repo = HandoffRepository(store)
        self.support_chat_id: int | None = (config.telegram.support_chat_id or config.telegram.fraud_team_chat_id
                                            or None)
        self.zone = ZoneInfo(config.scheduler.timezone)
        self._insights = insights
        self._customer_for_chat = customer_for_chat
        self.clock = clock or _utc_now
        self.open_for = open_for
        self._locks: dict[int, asyncio.Lock] = {}

    @property
    def available(self) -> bool:
        return self.support_chat_id is not None

    # ---- what may be forwarded -------------------------------------------------------------------------
    def _dobs(self, customer_id: str) -> tuple[dt.date, ...]:
        if self._insights is None:
            return ()
        try:
            return tuple(self._insights.personal_details(customer_id).dobs)
        except (CustomerNotFound, NoData):
            return ()

    def clean(self, customer_id: str, text: str, limit: int = MAX_QUESTION) -> str:
        """One message as the support team may see it: no DOB, no full card number, cut to `limit` (sync)."""
        return _cut(remove_birth_dates(text, self._dobs(customer_id)), limit)

    def context_text(self, customer_id: str, turns: Sequence[tuple[str, str]]) -> str:
        """The last turns with the assistant, cleaned and cut, one line each (sync)."""
        dobs = self._dobs(customer_id)
        lines: list[str] = []
        for user, assistant in list(turns)[-CONTEXT_TURNS:]:
            lines.append("Customer: " + _cut(remove_birth_dates(user, dobs), MAX_TURN_TEXT))
            lines.append("Assistant: " + _cut(remove_birth_dates(assistant, dobs), MAX_TURN_TEXT))
        return "\n".join(lines)

    # ---- the customer asks -----------------------------------------------------------------------------
    def _lock(self, chat_id: int) -> asyncio.Lock:
        return self._locks.setdefault(chat_id, asyncio.Lock())

    async def request(self, *, chat_id: int, customer_id: str, question: str,
                      turns: Sequence[tuple[str, str]] = (), source: str = "command",
                      channel: SupportChannel) -> HandoffResult:
        """Open a handoff or add to the chat's open one, tell the support chat, and say what happens next."""
        if self.support_chat_id is None:
            log.info("handoff asked for, but no support_chat_id or fraud_team_chat_id is configured")
            return HandoffResult(UNAVAILABLE, None, NO_ONE_TEXT)
        async with self._lock(chat_id):
            question = await asyncio.to_thread(self.clean, customer_id, question)
            context = await asyncio.to_thread(self.context_text, customer_id, turns)
            handoff, is_new, added = await asyncio.to_thread(
                self._record, chat_id, customer_id, question or NO_QUESTION, context, source)
            if is_new:
                return await self._send_new(handoff, channel, bool(question))
            if not added:
                return HandoffResult(FULL, handoff.reference, (
                    f"Your request {handoff.reference} is already with our support team and they will reply here "
                    "in this chat. For anything urgent, call the number on the back of your card."))
            await self._tell_support_of_addition(handoff, question or NO_QUESTION, channel)
            return HandoffResult(ADDED, handoff.reference, (
                f"I've added this to your open request {handoff.reference}. A person from our support team will "
                "reply here in this chat."))

    def _record(self, chat_id: int, customer_id: str, question: str, context: str,
                source: str) -> tuple[Handoff, bool, bool]:
        """(handoff, opened now?, request stored?) in one write transaction (sync)."""
        now = self.clock()
        with self.store.atomic(immediate=True):
            current = self.repo.open_for_chat(chat_id)
            if current is not None and (now - current.updated_at > self.open_for
                                        or current.customer_id != customer_id):
                # Stale, or the chat was linked to another customer since: that one is not this request's.
                self.repo.finish(current.handoff_id, EXPIRED, now)
                current = None
            if current is not None:
                if current.n_requests >= MAX_REQUESTS:
                    return current, False, False
                self.repo.add_message(current.handoff_id, CUSTOMER, question, now)
                return self.repo.by_reference(current.reference) or current, False, True
            created = None
            for _ in range(5):          # a reference collision (31^6 of them) is retried with a new one
                created = self.repo.create(reference=new_reference(), chat_id=chat_id, customer_id=customer_id,
                                           source=source if source in SOURCES else "command",
                                           support_chat_id=self.support_chat_id or 0, now=now, context=context)
                if created is not None:
                    break
            if created is None:
                raise RuntimeError("could not allocate a handoff reference")
            self.repo.add_message(created.handoff_id, CUSTOMER, question, now)
            return self.repo.by_reference(created.reference) or created, True, True

    async def _send_new(self, handoff: Handoff, channel: SupportChannel, had_question: bool) -> HandoffResult:
        assert self.support_chat_id is not None
        text = await asyncio.to_thread(self.support_text, handoff)
        try:
            message_id = await channel.send(self.support_chat_id, text)
        except SupportUnreachable as exc:
            log.warning("handoff %s could not be sent to the support chat: %s", handoff.reference, exc)
            await asyncio.to_thread(self.repo.finish, handoff.handoff_id, UNDELIVERED, self.clock())
            return HandoffResult(FAILED, None, UNDELIVERED_TEXT)
        await asyncio.to_thread(self.repo.set_support_message, handoff.handoff_id, message_id)
        tip = "" if had_question else " Tip: send /human followed by your question so they can start on it."
        return HandoffResult(OPENED, handoff.reference, (
            f"I've passed this to our support team with the reference {handoff.reference}. A person from the "
            "bank will reply to you here in this chat; you don't need to ask again. To add details, send /human "
            f"followed by them.{tip}"))

    async def _tell_support_of_addition(self, handoff: Handoff, question: str, channel: SupportChannel) -> None:
        """Before anyone answered: the one support message is brought up to date. After: a threaded reply."""
        if self.support_chat_id is None or handoff.support_message_id is None:
            return
        try:
            if handoff.n_staff_replies == 0:
                text = await asyncio.to_thread(self.support_text, handoff)
                await channel.edit(handoff.support_chat_id or self.support_chat_id, handoff.support_message_id, text)
            else:
                await channel.send(handoff.support_chat_id or self.support_chat_id,
                                   f"➕ <b>{_html(handoff.reference)}</b>, the customer adds:\n"
                                   f"{_html(question)}", reply_to=handoff.support_message_id)
        except SupportUnreachable as exc:   # stored all the same: the next update of the message shows it
            log.warning("could not update the support message of handoff %s: %s", handoff.reference, exc)

    # ---- the support chat's message ----------------------------------------------------------------------
    def _local(self, moment: dt.datetime) -> str:
        local = moment.astimezone(self.zone)
        return f"{local.day} {local.strftime('%b %Y %H:%M')}"

    def support_text(self, handoff: Handoff, closed_by_staff: bool = False) -> str:
        """The support chat's message for a handoff (HTML, under Telegram's limit), from what is stored (sync)."""
        requests = [m for m in self.repo.messages(handoff.handoff_id) if m.author == CUSTOMER]
        head = [f"🙋 <b>A customer asks for a person</b> — ref <code>{_html(handoff.reference)}</code>",
                f"Customer <code>{_html(handoff.customer_id)}</code> · {self._local(handoff.created_at)} "
                f"({_html(self.zone.key)}) · via {_html(SOURCES.get(handoff.source, handoff.source))}",
                "", "<b>Question</b>", _html(requests[0].text if requests else NO_QUESTION)]
        later = [f"• {self._local(m.created_at)}: {_html(m.text)}" for m in requests[1:]]
        context = [_html(line) for line in handoff.context.splitlines()]
        footer = ["", f"✅ Closed by the support team, {self._local(handoff.closed_at or self.clock())}."
                  if closed_by_staff else
                  f"↩️ Reply to this message to answer the customer in their chat; reply {CLOSE_COMMAND} when done."]

        def render(later_lines: list[str], context_lines: list[str], dropped: int) -> str:
            parts = list(head)
            if later_lines:
                parts += ["", "<b>Added later</b>"]
                if dropped:
                    parts.append(f"({dropped} earlier not shown)")
                parts += later_lines
            if context_lines:
                parts += ["", "<b>Before that, with the assistant</b>", *context_lines]
            return "\n".join(parts + footer)

        dropped = 0
        text = render(later, context, dropped)
        while len(text) > MAX_SUPPORT_MESSAGE and context:
            context = context[2:]                         # the oldest turn first
            text = render(later, context, dropped)
        while len(text) > MAX_SUPPORT_MESSAGE and len(later) > 1:
            later, dropped = later[1:], dropped + 1
            text = render(later, context, dropped)
        return text[:MAX_SUPPORT_MESSAGE]

    # ---- the support team answers ----------------------------------------------------------------------
    async def staff_reply(self, *, support_chat_id: int, replied_to: int, text: str,
                          channel: SupportChannel) -> StaffReplyResult:
        """A reply in the support chat to a handoff message: relay it to the customer, or close it on /close."""
        if self.support_chat_id is None or support_chat_id != self.support_chat_id:
            return StaffReplyResult("not_a_handoff")
        handoff = await asyncio.to_thread(self.repo.by_support_message, support_chat_id, replied_to)
        if handoff is None:
            return StaffReplyResult("not_a_handoff")
        command = text.strip().split()[0].split("@")[0].lower() if text.strip() else ""
        if handoff.status not in (OPEN, EXPIRED):
            return StaffReplyResult("finished", handoff.reference,
                                    f"{handoff.reference} is {handoff.status}; nothing was sent to the customer.")
        linked = await asyncio.to_thread(self._customer_for_chat, handoff.chat_id) if self._customer_for_chat \
            else handoff.customer_id
        if linked != handoff.customer_id:
            return StaffReplyResult("unlinked", handoff.reference, (
                f"{handoff.reference}: that chat is no longer linked to {handoff.customer_id}, so nothing was sent. "
                "Please reach the customer another way."))
        if command == CLOSE_COMMAND:
            return await self._close(handoff, channel)
        body = _cut(text, 3500)
        message = (f"💬 <b>Our support team</b> (ref {_html(handoff.reference)}):\n{_html(body)}\n\n"
                   "<i>To answer, send /human followed by your message.</i>")
        try:
            await channel.send(handoff.chat_id, message)
        except SupportUnreachable as exc:
            log.info("a staff reply to handoff %s could not be delivered: %s", handoff.reference, exc)
            return StaffReplyResult("undelivered", handoff.reference,
                                    f"{handoff.reference}: the customer's chat could not be reached; nothing was sent.")
        await asyncio.to_thread(self.repo.add_message, handoff.handoff_id, STAFF, body, self.clock())
        return StaffReplyResult("relayed", handoff.reference)

    async def _close(self, handoff: Handoff, channel: SupportChannel) -> StaffReplyResult:
        now = self.clock()
        closed = await asyncio.to_thread(self.repo.finish, handoff.handoff_id, CLOSED, now)
        if not closed:   # expired meanwhile: it is over either way
            return StaffReplyResult("finished", handoff.reference, f"{handoff.reference} was already finished.")
        try:
            await channel.send(handoff.chat_id, (
                f"✅ Our support team has closed your request {_html(handoff.reference)}. If you need us "
                "again, send /human and your question."))
        except SupportUnreachable as exc:
            log.info("could not tell the customer that handoff %s is closed: %s", handoff.reference, exc)
        finished = await asyncio.to_thread(self.repo.by_reference, handoff.reference)
        if finished is not None and finished.support_message_id is not None and finished.support_chat_id:
            try:
                await channel.edit(finished.support_chat_id, finished.support_message_id,
                                   await asyncio.to_thread(self.support_text, finished, True))
            except SupportUnreachable as exc:
                log.info("could not mark handoff %s closed in the support chat: %s", handoff.reference, exc)
        return StaffReplyResult("closed", handoff.reference)

    # ---- for /stats and a later support tool -------------------------------------------------------------
    def counts(self, since: dt.datetime | None = None) -> dict[str, int]:
        return self.repo.counts(since)
