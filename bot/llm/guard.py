"""Spots requests for someone else's data and prompt-injection phrasing before any model or data is touched."""

from __future__ import annotations

import re

_CUSTOMER_ID = re.compile(r"\b[cC]\d{3,}\b")
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules|prompt|guidelines|system)\b"
    r"|\b(system|hidden)\s+prompt\b|\bdeveloper\s+mode\b|\bjailbreak\b|\bpretend\s+(you\s+are|to\s+be)\b"
    r"|\bact\s+as\s+(another|a\s+different)\b|\b(all|every(one)?'?s?|other)\s+customers?'?\b"
    r"|\b(list|dump|export)\s+(all\s+)?(the\s+)?(customers|database|users|accounts)\b"
    r"|\bsomeone\s+else'?s\b|\banother\s+(customer|person|user)'?s?\b|\beveryone'?s\b",
    re.IGNORECASE,
)


def other_customer_ids(text: str, own_customer_id: str | None) -> tuple[str, ...]:
    """Customer IDs in the text that are not the customer's own."""
    own = (own_customer_id or "").upper()
    return tuple(dict.fromkeys(m.upper() for m in _CUSTOMER_ID.findall(text) if m.upper() != own))


def is_off_limits(text: str, own_customer_id: str | None) -> bool:
    """True for another customer's data or an attempt to change the assistant's rules: refuse, never answer."""
    return bool(other_customer_ids(text, own_customer_id) or _INJECTION.search(text))
