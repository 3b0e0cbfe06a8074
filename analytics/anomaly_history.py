"""What each customer's history says, vectorised: robust baselines, novelty counts, hour habits, peer cohorts.

Every function here is computed group by group (a customer, or a customer at one merchant) from that group's
rows alone, with integer or order-statistic arithmetic, so one customer's figures come out bit for bit the
same whether the frame holds the whole bank or only that customer (export and the API rely on it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

IQR_PER_SD = 1.349             # interquartile range of a normal distribution, in standard deviations


def group_starts(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start position and size of each run of equal values in sorted keys."""
    if len(sorted_keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    return starts, np.diff(np.append(starts, len(sorted_keys)))


def key_counts(keys: np.ndarray, near: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct int64 keys and how often each occurs. `near` (speed only) is an order of the keys
    close to sorted (by customer, for keys that start with the customer)."""
    ordered = np.sort(keys) if near is None else np.sort(keys[near], kind="stable")
    starts, sizes = group_starts(ordered)
    return ordered[starts], sizes


def count_of(keys: np.ndarray, counts: np.ndarray, query: np.ndarray) -> np.ndarray:
    """counts of the sorted distinct `keys` at each query, 0 where absent."""
    if len(keys) == 0:
        return np.zeros(len(query), np.int64)
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[pos] == query, counts[pos], 0).astype(np.int64)


def contains(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Whether each query is among the sorted distinct `keys`."""
    if len(keys) == 0:
        return np.zeros(len(query), bool)
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return keys[pos] == query


def value_ranks(values: np.ndarray) -> np.ndarray:
    """Each value's position in a stable sort of all of them (equal values keep their row order)."""
    ranks = np.empty(len(values), np.int64)
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    return ranks


def sort_within(keys: np.ndarray, ranks: np.ndarray, near: np.ndarray | None = None) -> np.ndarray:
    """Order of rows by key, then by rank (distinct ranks): one integer sort instead of numpy's much slower
    lexsort. `near` (speed only, the order is the same without it) is an order of the rows already close to
    the result, e.g. sorted by customer: a stable sort of nearly sorted keys takes a fraction of the time."""
    if len(keys) == 0:
        return np.zeros(0, np.int64)
    scale = int(ranks.max()) + 1
    if int(keys.max()) < (1 << 62) // scale:
        if near is None and 0 <= int(keys.min()) and int(keys.max()) < (1 << 15):
            # A few groups (peer groups): rows in rank order, then a stable radix sort of the 16-bit keys.
            by_rank = in_rank_order(ranks, scale)
            return by_rank[np.argsort(keys[by_rank].astype(np.int16), kind="stable")]
        composite = keys.astype(np.int64) * scale + ranks
        if near is None:
            return np.argsort(composite)
        return near[np.argsort(composite[near], kind="stable")]
    return np.lexsort((ranks, keys))


def in_rank_order(ranks: np.ndarray, n_ranks: int) -> np.ndarray:
    """Positions of the rows in order of their distinct ranks (each in 0 .. n_ranks - 1), without a sort."""
    at = np.full(n_ranks, -1, np.int64)
    at[ranks] = np.arange(len(ranks))
    return at[at >= 0]


@dataclass(frozen=True)
class RobustGroups:
    """Median and robust spread of values per group (sorted distinct keys), and each row's leave-one-out view."""

    keys: np.ndarray            # sorted distinct group keys
    median: np.ndarray          # median of each group's values
    spread: np.ndarray          # interquartile range / 1.349 (a standard deviation for normal data)
    count: np.ndarray           # values per group
    row_median_others: np.ndarray   # per input row: median of the *other* values of its group (NaN: none)
    row_spread: np.ndarray      # per input row: its group's spread
    row_others: np.ndarray      # per input row: how many other values its group has
    order: np.ndarray           # the rows sorted by group, then value (what `largest_other` sorts too)


def _at_fraction(v: np.ndarray, start: np.ndarray, size: np.ndarray, fraction: float) -> np.ndarray:
    """Linear-interpolated quantile of each sorted group v[start : start + size]."""
    position = (size - 1) * fraction
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, size - 1)
    weight = position - low
    return v[start + low] * (1.0 - weight) + v[start + high] * weight


def robust_groups(keys: np.ndarray, values: np.ndarray, ranks: np.ndarray | None = None,
                  near: np.ndarray | None = None) -> RobustGroups:
    """Robust centre and spread of `values` per group of `keys`, with each row left out of its own median.

    A row judged against its own history must not be part of it (a single ₹46,267 payment would otherwise
    drag a short history's median up to meet it); the leave-one-out median comes from the row's rank in its
    sorted group. The spread (interquartile) keeps every row: it is robust to the one being judged.
    `ranks` (value_ranks of `values`) may be given when they are known already; `near` is `sort_within`'s.
    """
    n_rows = len(keys)
    if n_rows == 0:
        empty_f, empty_i = np.zeros(0), np.zeros(0, np.int64)
        return RobustGroups(np.zeros(0, np.int64), empty_f, empty_f, empty_i, empty_f, empty_f, empty_i, empty_i)
    order = sort_within(keys, value_ranks(values) if ranks is None else ranks, near)
    k, v = keys[order], values[order]
    starts, sizes = group_starts(k)
    group = np.repeat(np.arange(len(starts)), sizes)
    start, size = starts[group], sizes[group]
    rank = np.arange(n_rows) - start
    group_median = _at_fraction(v, starts, sizes, 0.5)
    spread = (_at_fraction(v, starts, sizes, 0.75) - _at_fraction(v, starts, sizes, 0.25)) / IQR_PER_SD
    # Leave-one-out median: the others' sorted position j sits at j (before the row) or j + 1 (after it).
    others = size - 1

    def other_at(j: np.ndarray) -> np.ndarray:
        return v[np.clip(start + j + (j >= rank), 0, n_rows - 1)]

    half = np.maximum(others - 1, 0) // 2
    loo = np.where(others % 2 == 1, other_at(half), 0.5 * (other_at(half) + other_at(half + 1)))
    loo = np.where(others > 0, loo, np.nan)
    row_loo, row_spread, row_others = (np.empty(n_rows), np.empty(n_rows), np.empty(n_rows, np.int64))
    row_loo[order], row_spread[order], row_others[order] = loo, spread[group], others
    return RobustGroups(k[starts], group_median, spread, sizes, row_loo, row_spread, row_others, order)


def largest_other(groups: np.ndarray, values: np.ndarray, ranks: np.ndarray | None = None,
                  order: np.ndarray | None = None, near: np.ndarray | None = None) -> np.ndarray:
    """Per row, the largest value among the *other* rows of its group (0 when it is alone). `order` (the
    rows sorted by group, then value: `RobustGroups.order` of the same rows) saves the sort; `near` is
    `sort_within`'s."""
    if len(groups) == 0:
        return np.zeros(0)
    if order is None:
        order = sort_within(groups, value_ranks(values) if ranks is None else ranks, near)
    g, v = groups[order], values[order]
    starts, sizes = group_starts(g)
    last = starts + sizes - 1
    top = np.repeat(v[last], sizes)
    second = np.repeat(np.where(sizes > 1, v[np.maximum(last - 1, 0)], 0.0), sizes)
    is_last = np.zeros(len(v), bool)
    is_last[last] = True
    out = np.empty(len(v))
    out[order] = np.where(is_last, second, top)
    return np.maximum(out, 0.0)


@dataclass(frozen=True)
class Novelty:
    """Per row: whether its value (place, merchant) is new to the customer, and the history before it."""

    is_new: np.ndarray          # not used by the customer before (more than `grace_s` earlier)
    uses_before: np.ndarray     # how often the customer used it before (more than `grace_s` earlier)
    n_before: np.ndarray        # the customer's earlier rows with a value
    singletons_before: np.ndarray   # distinct values among them seen exactly once
    distinct: np.ndarray        # per customer (by code): distinct values over the whole history
    n_valued: np.ndarray        # per customer: rows with a value
    singletons: np.ndarray      # per customer: values seen exactly once over the whole history


def novelty(cust: np.ndarray, code: np.ndarray, secs: np.ndarray, time_rank: np.ndarray, n_customers: int,
            grace_s: int) -> Novelty:
    """Prequential novelty of a categorical value per customer (rows with code -1 have no value).

    A value counts as used before only if it was used more than `grace_s` earlier: the rows of one spree in
    a new city are all "new", while the second day of a trip is not. `time_rank` orders rows by (customer,
    time); the counts before a row follow that order.
    """
    n = len(cust)
    valued = code >= 0
    rows = np.flatnonzero(valued)
    is_new = np.zeros(n, bool)
    uses_before = np.zeros(n, np.int64)
    n_before = np.zeros(n, np.int64)
    singletons_before = np.zeros(n, np.int64)
    if len(rows) <= 1:  # nothing before it (one new transaction: the common case, kept quick)
        is_new[rows] = True
        counts = np.bincount(cust[rows], minlength=n_customers)
        return Novelty(is_new, uses_before, n_before, singletons_before, counts, counts, counts)
    c, v, t, r = cust[rows], code[rows], secs[rows], time_rank[rows]
    # Rows in (customer, time) order are nearly in the (customer, value, time) order wanted.
    order = sort_within(c * np.int64(int(v.max()) + 1) + v, r, in_rank_order(r, int(r.max()) + 1))
    pair = np.concatenate(([True], (c[order][1:] != c[order][:-1]) | (v[order][1:] != v[order][:-1])))
    pair_id = np.cumsum(pair) - 1
    starts = np.flatnonzero(pair)
    occurrence = np.arange(len(order)) - starts[pair_id]
    key = pair_id.astype(np.int64) * (1 << 33) + t[order].astype(np.int64)
    within_grace = np.arange(len(order)) - np.searchsorted(key, key - grace_s, side="right")
    earlier_uses = occurrence - np.maximum(within_grace, 0)
    change = (occurrence == 0).astype(np.int64) - (occurrence == 1).astype(np.int64)
    # Back to (customer, time) order for the running counts of earlier rows and singletons.
    by_time = np.argsort(r[order], kind="stable")
    ct = c[order][by_time]
    cust_start = np.flatnonzero(np.concatenate(([True], ct[1:] != ct[:-1])))
    first = np.repeat(cust_start, np.diff(np.append(cust_start, len(ct))))
    position = np.arange(len(ct))
    running = np.cumsum(change[by_time])
    before_start = np.where(first > 0, running[np.maximum(first - 1, 0)], 0)
    singles = running - change[by_time] - before_start
    target = rows[order][by_time]
    is_new[target] = earlier_uses[by_time] <= 0
    uses_before[target] = np.maximum(earlier_uses[by_time], 0)
    n_before[target] = position - first
    singletons_before[target] = singles
    distinct = np.bincount(c[order][starts], minlength=n_customers)
    sizes = np.diff(np.append(starts, len(order)))
    singletons = np.bincount(c[order][starts][sizes == 1], minlength=n_customers)
    n_valued = np.bincount(c, minlength=n_customers)
    return Novelty(is_new, uses_before, n_before, singletons_before, distinct, n_valued, singletons)


def hour_window_count(hour_keys: np.ndarray, hour_counts: np.ndarray, cust: np.ndarray,
                      hour: np.ndarray) -> np.ndarray:
    """Rows stored for each customer in the hour before, the hour itself and the hour after (wrapping)."""
    day = cust.astype(np.int64) * 24
    total = count_of(hour_keys, hour_counts, day + hour)
    total = total + count_of(hour_keys, hour_counts, day + (hour - 1) % 24)
    return total + count_of(hour_keys, hour_counts, day + (hour + 1) % 24)


def hour_shares(hours: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Share of rows in each hour's 3-hour window (the hour and its neighbours), add-one smoothed."""
    return hour_shares_of(np.bincount(hours, weights=weights, minlength=24))


def hour_shares_of(counts: np.ndarray) -> np.ndarray:
    """`hour_shares` from the 24 hours' counts of rows."""
    counts = counts.astype(float) + 1.0
    share = counts / counts.sum()
    return share + np.roll(share, 1) + np.roll(share, -1)


def group_medians(groups: pd.Series | np.ndarray, values: np.ndarray) -> pd.Series:
    """Median of values per group id (pandas' groupby; exact order statistics)."""
    return pd.Series(values).groupby(np.asarray(groups)).median()


def largest_before(src_cust: np.ndarray, src_secs: np.ndarray, src_value: np.ndarray, dst_cust: np.ndarray,
                   dst_secs: np.ndarray, window_s: int) -> np.ndarray:
    """Per destination row, the largest source value of the same customer in the `window_s` seconds before
    it (strictly earlier; 0 when none). Sources are few (one-off credits), so each is spread over the
    destinations it reaches: the work is the number of (source, destination) pairs, not customers."""
    out = np.zeros(len(dst_cust))
    if len(src_cust) == 0 or len(dst_cust) == 0:
        return out
    base = min(int(src_secs.min()), int(dst_secs.min()))
    span = max(int(src_secs.max()), int(dst_secs.max())) - base + window_s + 1
    dst_key = dst_cust.astype(np.int64) * span + (dst_secs.astype(np.int64) - base)
    order = np.argsort(dst_key, kind="stable")
    dst_key = dst_key[order]
    src_key = src_cust.astype(np.int64) * span + (src_secs.astype(np.int64) - base)
    lo = np.searchsorted(dst_key, src_key, side="right")
    hi = np.searchsorted(dst_key, src_key + window_s, side="left")
    sizes = np.maximum(hi - lo, 0)
    if sizes.sum() == 0:
        return out
    starts = np.repeat(lo - np.cumsum(np.r_[0, sizes[:-1]]), sizes)
    positions = starts + np.arange(int(sizes.sum()))
    best = np.zeros(len(dst_key))
    np.maximum.at(best, positions, np.repeat(src_value.astype(float), sizes))
    out[order] = best
    return out
