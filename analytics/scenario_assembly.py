"""Turning injected scenario events into a frame: new transaction IDs, balances, row order, labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

import numpy as np
import pandas as pd

from analytics.scenario_context import CustomerHistory, Event, FrameContext, carry_known, narration
from analytics.schema import CREDIT, TXN_COLUMNS

LABEL_COLUMNS: Final = ("transaction_id", "scenario", "is_fraud", "customer_id", "event", "step")
SUMMARY_COLUMNS: Final = ("scenario", "is_fraud", "applicable", "requested", "events", "rows")


class Injection(NamedTuple):
    """What `inject_scenarios` returns: the new frame, its labels, the replaced IDs and counts per scenario."""

    frame: pd.DataFrame        # canonical TXN_COLUMNS, RangeIndex
    labels: pd.DataFrame       # LABEL_COLUMNS, one row per injected transaction
    removed: tuple[str, ...]   # original transaction IDs replaced (a raised rent replaces the old payments)
    summary: pd.DataFrame      # SUMMARY_COLUMNS


def _new_ids(existing: pd.Series, n: int, rng: np.random.Generator) -> list[str]:
    """IDs continuing the frame's most common `<prefix><number>` form, above its largest number, shuffled."""
    text = existing.astype(str)
    prefixes = text.sample(min(len(text), 5_000), random_state=0).str.extract(r"^(\D*)\d+$")[0].dropna()
    prefix = str(prefixes.mode().iloc[0]) if len(prefixes) else "T"
    tails = text[text.str.startswith(prefix)].str.slice(len(prefix))
    tails = tails[tails.str.isdigit()].str.lstrip("0")
    longest = tails[tails.str.len() == tails.str.len().max()] if len(tails) else tails
    top = int(longest.max() or 0) if len(longest) else 0
    ids = [f"{prefix}{top + 1 + int(i)}" for i in rng.permutation(n)]
    if pd.Index(text).isin(ids).any():  # cannot happen above the maximum; checked all the same
        raise AssertionError("injected transaction IDs collide with the frame's")
    return ids


def assemble(frame: pd.DataFrame, context: FrameContext, events: list[tuple[str, int, Event]],
             histories: Mapping[int, CustomerHistory], seed: int, names: Sequence[str],
             wanted: Mapping[str, int], made: Mapping[str, int], *, is_fraud: Mapping[str, bool],
             applicable: Mapping[str, bool]) -> Injection:
    """The frame with the events' rows in place (and replaced rows out), its labels and counts per scenario."""
    rng = np.random.default_rng([seed, 2])
    n_new = sum(len(e.rows) for _, _, e in events)
    ids = _new_ids(frame["transaction_id"], n_new, rng)
    records: list[dict[str, object]] = []
    labels: list[dict[str, object]] = []
    removed_positions: list[int] = []
    new_balance: list[tuple[np.ndarray, np.ndarray]] = []   # (original positions, recomputed balances): ledger
    k = 0
    for event_no, (name, code, event) in enumerate(events):
        h = histories[code]
        removed_positions.extend(event.replaces)
        start = len(records)
        for row in sorted(event.rows, key=lambda r: r.ts.value):
            i = h.latest_index(row.ts)
            place = row.location if row.location is not None else h.home
            merchant = row.merchant_text
            if merchant is None and context.has_merchant and row.payee is not None:
                merchant = narration(row.payee, row.channel, place, rng)
            records.append({
                "transaction_id": ids[k], "customer_id": h.customer_id, "ts": row.ts.floor("s"),
                "amount": round(float(row.amount), 2), "balance": np.nan, "txn_type": row.txn_type,
                "merchant": merchant if context.has_merchant else None,
                "category": (row.category if row.merchant_text is not None and context.has_category
                             else context.category(row.category, row.txn_type, rng)),
                "channel": (row.channel if row.merchant_text is not None else context.channel(row.channel or ""))
                if context.has_channel else None,
                "location": place if context.has_location else None,
                "dob": h.dob[i], "gender": h.gender[i],
                "_anchor": int(h.positions[i]) if h.ts_ns[i] <= row.ts.value else int(h.positions[0]) - 0.5,
            })
            labels.append({"transaction_id": ids[k], "scenario": name, "is_fraud": int(is_fraud[name]),
                           "customer_id": h.customer_id, "event": event_no, "step": row.step})
            k += 1
        _balances(h, event, records[start:], context, rng, new_balance)

    out = frame.copy()
    if new_balance:
        positions = np.concatenate([p for p, _ in new_balance])
        values = np.concatenate([v for _, v in new_balance])
        balance = out["balance"].to_numpy(dtype=float, copy=True)
        balance[positions] = values
        out["balance"] = balance
    removed = np.array(sorted(set(removed_positions)), dtype=np.int64)
    removed_ids = tuple(str(x) for x in out["transaction_id"].to_numpy()[removed])
    key = np.arange(len(out), dtype=float)
    if len(removed):
        keep = np.ones(len(out), dtype=bool)
        keep[removed] = False
        out, key = out[keep], key[keep]
    injected = pd.DataFrame(records, columns=[*TXN_COLUMNS, "_anchor"]) if records else None
    if injected is not None:
        anchor = injected.pop("_anchor").to_numpy(dtype=float)
        injected["ts"] = pd.to_datetime(injected["ts"]).astype("datetime64[ns]")
        injected["dob"] = pd.to_datetime(injected["dob"]).astype("datetime64[ns]")
        for column in ("transaction_id", "customer_id", "txn_type", "merchant", "category", "channel", "location",
                       "gender"):
            injected[column] = pd.Series(injected[column].to_numpy(dtype=object), dtype=object)
        for column in ("amount", "balance"):
            injected[column] = injected[column].astype(float)
        # Each injected row sits right after its customer's latest original row at or before it, in time order.
        combined = pd.concat([out, injected], ignore_index=True)
        sort_anchor = np.r_[key, anchor]
        sort_is_new = np.r_[np.zeros(len(out)), np.ones(len(injected))]
        sort_ts = combined["ts"].to_numpy().astype(np.int64)
        sort_seq = np.arange(len(combined))
        out = combined.iloc[np.lexsort((sort_seq, sort_ts, sort_is_new, sort_anchor))]
    out = out.reset_index(drop=True)
    label_frame = pd.DataFrame(labels, columns=list(LABEL_COLUMNS))
    label_frame["is_fraud"] = label_frame["is_fraud"].astype(np.int8)
    label_frame["event"] = label_frame["event"].astype(np.int64)
    counts = label_frame.groupby("scenario").size() if len(label_frame) else pd.Series(dtype=int)
    summary = pd.DataFrame([{
        "scenario": n, "is_fraud": is_fraud[n], "applicable": applicable[n],
        "requested": wanted[n], "events": made[n], "rows": int(counts.get(n, 0)),
    } for n in names], columns=list(SUMMARY_COLUMNS))
    return Injection(out, label_frame, removed_ids, summary)


def _balances(h: CustomerHistory, event: Event, records: list[dict[str, object]], context: FrameContext,
              rng: np.random.Generator, new_balance: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Fill the injected rows' balances and, in a ledger, recompute every later balance of the customer."""
    if not np.isfinite(h.levels).any():
        return
    times = np.array([pd.Timestamp(r["ts"]).value for r in records], dtype=np.int64)
    signed = np.array([float(r["amount"]) * (1 if r["txn_type"] == CREDIT else -1) for r in records])
    if context.ledger:
        replaced = np.isin(h.positions, np.array(event.replaces, dtype=np.int64))
        # Originals first at equal times, as the output orders them.
        all_ts = np.r_[h.ts_ns, times]
        kind = np.r_[np.zeros(len(h.ts_ns)), np.ones(len(times))]
        order = np.lexsort((np.arange(len(all_ts)), kind, all_ts))
        present_signed = np.r_[np.where(replaced, 0.0, h.signed), signed][order]
        original_signed = np.r_[h.signed, np.zeros(len(times))][order]
        level = np.r_[h.levels, np.full(len(times), np.nan)][order]
        opening = carry_known(level - np.cumsum(original_signed))
        balance = np.round(opening + np.cumsum(present_signed), 2)
        back = np.empty(len(order), dtype=np.int64)
        back[order] = np.arange(len(order))
        mine = balance[back[:len(h.ts_ns)]]
        reported = ~replaced & ~np.isnan(h.balance)
        new_balance.append((h.positions[reported], mine[reported]))
        theirs = balance[back[len(h.ts_ns):]]
    else:
        anchor = np.searchsorted(h.ts_ns, times, side="right") - 1
        base = np.where(anchor >= 0, h.levels[np.maximum(anchor, 0)], h.opening)
        theirs = np.empty(len(times))
        for j in range(len(times)):
            same = (anchor == anchor[j]) & (np.arange(len(times)) <= j)
            theirs[j] = round(float(base[j] + signed[same].sum()), 2)
        theirs = np.where(theirs < 0, np.nan, theirs)
    for record, value in zip(records, theirs, strict=True):
        record["balance"] = np.nan if rng.random() < context.balance_missing else float(value)
