"""Links Telegram chats to customers with one-time, expiring, hashed codes and a wrong-code lockout."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass

from bot.services.errors import CustomerNotFound, FinAssistError
from bot.storage.database import Store
from bot.storage.links import LinkStore
from bot.storage.transactions import TransactionRepository

log = logging.getLogger(__name__)

CODE_ALPHABET = string.ascii_letters + string.digits   # deep-link safe (t.me/<bot>?start=<code>)
CODE_LENGTH = 12                                       # 62**12 ≈ 3e21: guessing is hopeless within a lockout
CODE_PATTERN = re.compile(r"[A-Za-z0-9]{6,64}")


class LinkError(FinAssistError):
    """A link code could not be redeemed."""


class InvalidCode(LinkError):
    """No such code (a typo or a guess); counts towards the lockout."""


class ExpiredCode(LinkError):
    """The code existed but its time ran out; ask the bank for a new one."""


class UsedCode(LinkError):
    """The code was already used once."""


class GroupChat(LinkError):
    """Only private chats are linked: in a group every member would see the customer's data.

    Telegram gives private chats the user's (positive) id and groups, supergroups and channels negative ids.
    """


class LockedOut(LinkError):
    """Too many wrong codes from this chat; wait until `until`."""

    def __init__(self, until: dt.datetime) -> None:
        super().__init__(f"too many wrong codes; try again after {until.isoformat(timespec='minutes')}")
        self.until = until


@dataclass(frozen=True)
class IssuedCode:
    code: str
    customer_id: str
    expires_at: dt.datetime


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LinkingService:
    """Issue and redeem link codes; answer which customer a chat belongs to (and the reverse)."""

    def __init__(self, store: Store, clock: Callable[[], dt.datetime] | None = None,
                 code_ttl: dt.timedelta = dt.timedelta(minutes=15), max_failures: int = 5,
                 lockout: dt.timedelta = dt.timedelta(minutes=15), secret: bytes | None = None,
                 customer_exists: Callable[[str], bool] | None = None) -> None:
        self.links = LinkStore(store)
        self.store = store
        self.clock = clock or _utc_now
        self.code_ttl = code_ttl
        self.max_failures = max_failures
        self.lockout = lockout
        self._secret = secret
        self._customer_exists = customer_exists

    def _hash(self, code: str) -> str:
        if self._secret is None:
            self._secret = self.links.secret()
        return hmac.new(self._secret, code.encode(), hashlib.sha256).hexdigest()

    def _known_customer(self, customer_id: str) -> bool:
        if self._customer_exists is not None:
            return self._customer_exists(customer_id)
        return TransactionRepository(self.store).customer_exists(customer_id)

    def issue_code(self, customer_id: str) -> IssuedCode:
        """A fresh one-time code for a known customer (only its HMAC is stored)."""
        if not self._known_customer(customer_id):
            raise CustomerNotFound(customer_id)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        now = self.clock()
        expires_at = now + self.code_ttl
        with self.store.atomic():
            self.links.add_code(self._hash(code), customer_id, now, expires_at)
        log.info("issued a link code for a customer (expires %s)", expires_at.isoformat(timespec="minutes"))
        return IssuedCode(code=code, customer_id=customer_id, expires_at=expires_at)

    def _check_lock(self, chat_id: int, now: dt.datetime) -> None:
        record = self.links.failures(chat_id)
        if record and record.locked_until and record.locked_until > now:
            raise LockedOut(record.locked_until)

    def _fail(self, chat_id: int, now: dt.datetime) -> None:
        record = self.links.failures(chat_id)
        # A lockout that has passed, or failures older than the lockout window, start a fresh count.
        stale = record is None or (record.locked_until is not None and record.locked_until <= now) \
            or (now - record.last_failure) > self.lockout
        failures = 1 if stale else record.failures + 1  # type: ignore[union-attr]
        locked_until = now + self.lockout if failures >= self.max_failures else None
        self.links.save_failures(chat_id, failures, now, locked_until)
        if locked_until:
            log.warning("chat locked out of linking after %d wrong codes", failures)

    def redeem(self, chat_id: int, user_id: int | None, code: str) -> str:
        """Link the chat to the code's customer and return the customer ID; raises a LinkError otherwise.

        A group's chat id is refused before the code is looked at, so the code stays usable (and no lockout counts).
        """
        if chat_id < 0:
            raise GroupChat("only private chats can be linked")
        now = self.clock()
        code = code.strip()
        with self.store.atomic():
            self._check_lock(chat_id, now)
            stored = self.links.get_code(self._hash(code)) if CODE_PATTERN.fullmatch(code) else None
            if stored is None:
                self._fail(chat_id, now)
                failed = True
            else:
                failed = False
        if failed:
            self._check_lock(chat_id, now)  # the failure that triggers the lock says so at once
            raise InvalidCode("no such link code")
        assert stored is not None
        if stored.used_at is not None:
            raise UsedCode("this link code was already used")
        if stored.expires_at <= now:
            raise ExpiredCode("this link code has expired")
        with self.store.atomic():
            if not self.links.mark_used(stored.code_hash, chat_id, now):
                raise UsedCode("this link code was already used")
            self.links.link(chat_id, stored.customer_id, user_id, now)
            self.links.clear_failures(chat_id)
        log.info("linked a chat to a customer")
        return stored.customer_id

    def unlink(self, chat_id: int) -> bool:
        with self.store.atomic():
            return self.links.unlink(chat_id)

    def customer_for_chat(self, chat_id: int) -> str | None:
        return self.links.customer_for_chat(chat_id)

    def chats_for_customer(self, customer_id: str) -> list[int]:
        return self.links.chats_for_customer(customer_id)

    def linked_chats(self) -> list[tuple[int, str]]:
        return self.links.linked_chats()
