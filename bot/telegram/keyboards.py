"""Inline keyboards and their callback data (every value < 64 bytes, checked when built)."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.services.preferences import AlertPreferences

# Callback-data prefixes, one per handler family (handlers match on these with ^prefix patterns).
FOLLOW_UP = "go"          # go:report | go:budget | go:why:<YYYY-MM> | go:spending | go:recommend
ALERTS = "al"             # al:t:<kind> | al:thr:<rupees> | al:qh:<HHMM-HHMM> | al:done
BROADCAST = "bc"          # bc:t:all | bc:t:seg:<n> | bc:t:churn:<levels> | bc:o:<i> | bc:write | bc:ok | bc:no
HANDOFF = "hd"            # hd:open (the assistant's offer of a person)

ALERTS_KINDS = ("low_balance", "unusual", "monthly", "offers", "trend", "forecast", "recurring")
THRESHOLD_PRESETS = (1000, 2000, 5000, 10000)
QUIET_PRESETS = ("22:00-08:00", "23:00-07:00", "21:00-09:00", "00:00-00:00")
# Churn targets name the levels `train` stored (analytics.churn): "lapsed" customers have already gone quiet
# for the whole look-back and are a different offer from those still active at high risk.
CHURN_PRESETS = (("high", "high"), ("high,medium", "high or medium"), ("lapsed", "lapsed (no recent activity)"))


def button(text: str, data: str) -> InlineKeyboardButton:
    if not 1 <= len(data.encode()) <= 64:
        raise ValueError(f"callback data must be 1-64 bytes: {data!r}")
    return InlineKeyboardButton(text, callback_data=data)


def follow_ups(*, report: bool = False, budget: bool = False, why_month: str | None = None,
               spending: bool = False, recommend: bool = False) -> InlineKeyboardMarkup | None:
    row = []
    if report:
        row.append(button("See report", f"{FOLLOW_UP}:report"))
    if budget:
        row.append(button("Set a budget", f"{FOLLOW_UP}:budget"))
    if why_month:
        row.append(button("Why?", f"{FOLLOW_UP}:why:{why_month}"))
    if spending:
        row.append(button("Spending", f"{FOLLOW_UP}:spending"))
    if recommend:
        row.append(button("Suggestions", f"{FOLLOW_UP}:recommend"))
    return InlineKeyboardMarkup([row]) if row else None


def handoff_offer() -> InlineKeyboardMarkup:
    """The button under "I couldn't help": opens a handoff with the question that failed."""
    return InlineKeyboardMarkup([[button("🙋 Talk to a person", f"{HANDOFF}:open")]])


def quiet_code(window: str) -> str:
    return window.replace(":", "")


def quiet_window(code: str) -> str:
    start, end = code.split("-")
    return f"{start[:2]}:{start[2:]}-{end[:2]}:{end[2:]}"


def alerts_keyboard(prefs: AlertPreferences) -> InlineKeyboardMarkup:
    labels = {"low_balance": "Low balance", "unusual": "Unusual", "monthly": "Monthly", "offers": "Offers",
              "trend": "Trends", "forecast": "Forecast", "recurring": "Bills"}
    toggles = [button(f"{'✅' if prefs.enabled(k) else '❌'} {v}", f"{ALERTS}:t:{k}") for k, v in labels.items()]
    thresholds = [button(("• " if prefs.low_balance_threshold == t else "") + f"₹{t:,}", f"{ALERTS}:thr:{t}")
                  for t in THRESHOLD_PRESETS]
    quiet = [button(("• " if prefs.quiet_hours == q else "") + ("none" if q == "00:00-00:00" else q),
                    f"{ALERTS}:qh:{quiet_code(q)}") for q in QUIET_PRESETS]
    return InlineKeyboardMarkup([toggles[:2], toggles[2:4], toggles[4:], thresholds, quiet[:2], quiet[2:],
                                 [button("Done", f"{ALERTS}:done")]])


def broadcast_targets(segments: Sequence[tuple[int, str, int]]) -> InlineKeyboardMarkup:
    """segments: (segment, persona, size)."""
    rows = [[button("All linked customers", f"{BROADCAST}:t:all")]]
    rows += [[button(f"Churn level: {label}", f"{BROADCAST}:t:churn:{levels}")] for levels, label in CHURN_PRESETS]
    rows += [[button(f"Segment {seg}: {persona[:30]} ({size})", f"{BROADCAST}:t:seg:{seg}")]
             for seg, persona, size in segments]
    rows.append([button("Cancel", f"{BROADCAST}:no")])
    return InlineKeyboardMarkup(rows)


def broadcast_offers(offers: Sequence[str]) -> InlineKeyboardMarkup:
    rows = [[button(f"{i + 1}. {offer[:40]}…", f"{BROADCAST}:o:{i}")] for i, offer in enumerate(offers)]
    rows.append([button("✍️ Write my own", f"{BROADCAST}:write")])
    rows.append([button("Cancel", f"{BROADCAST}:no")])
    return InlineKeyboardMarkup(rows)


def broadcast_confirm() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button("Send", f"{BROADCAST}:ok"), button("Cancel", f"{BROADCAST}:no")]])
