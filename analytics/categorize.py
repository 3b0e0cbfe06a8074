"""Spending category per transaction: trusted when given, else learned from merchant text (contract §1)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.schema import CATEGORIES, CREDIT, UNCATEGORIZED, normalize_category

if TYPE_CHECKING:
    from analytics.merchant_model import MerchantCategorizer

log = logging.getLogger(__name__)

DEFAULT_MERCHANTS_PATH = Path(__file__).resolve().parent.parent / "data" / "merchants.csv"

# Payment-rail prefixes that say how, not where ("UPI/SWIGGY*ORDER", "POS 4456 DMART").
_RAIL_PREFIXES = frozenset({"UPI", "POS", "ECOM", "VPS", "IPS", "MPS", "PUR", "PURCHASE", "BIL", "BILLPAY",
                            "ONL", "ONLINE", "DEBIT", "CARD", "VISA", "RUPAY", "MASTERCARD", "ACH", "NACH"})
# Tokens that are noise anywhere in a description.
_NOISE_TOKENS = frozenset({"ORDER", "ORDERS", "PVT", "PRIVATE", "LTD", "LIMITED", "TXN", "REF", "REFNO", "WWW",
                           "COM", "IN", "CO", "THE", "AND", "INR", "RS", "TRF", "PAY", "PAYMENTS", "SERVICES"})
# City and country suffixes that banks append; stripped from the end only ("DELHI METRO" keeps DELHI).
_PLACE_SUFFIXES = frozenset({
    "BANGALORE", "BENGALURU", "BLR", "MUMBAI", "BOMBAY", "THANE", "NAVI", "DELHI", "NEW", "NOIDA", "GURGAON",
    "GURUGRAM", "PUNE", "CHENNAI", "MADRAS", "HYDERABAD", "SECUNDERABAD", "KOLKATA", "CALCUTTA", "AHMEDABAD",
    "SURAT", "JAIPUR", "LUCKNOW", "KANPUR", "NAGPUR", "INDORE", "BHOPAL", "PATNA", "VADODARA", "LUDHIANA",
    "AGRA", "NASHIK", "FARIDABAD", "MEERUT", "RAJKOT", "VARANASI", "SRINAGAR", "AURANGABAD", "DHANBAD",
    "AMRITSAR", "ALLAHABAD", "PRAYAGRAJ", "RANCHI", "JAMSHEDPUR", "COIMBATORE", "MADURAI", "KOCHI", "COCHIN",
    "TRIVANDRUM", "THIRUVANANTHAPURAM", "MYSORE", "MYSURU", "MANGALORE", "VIJAYAWADA", "VISAKHAPATNAM",
    "VIZAG", "BHUBANESWAR", "GUWAHATI", "CHANDIGARH", "DEHRADUN", "GOA", "PANAJI", "RAIPUR", "JODHPUR",
    "UDAIPUR", "GWALIOR", "JABALPUR", "MOHALI", "GHAZIABAD", "HOWRAH", "IND", "INDIA", "MH", "KA", "DL",
    "TN", "TS", "AP", "UP", "WB", "GJ", "RJ", "HR", "KL",
})
# Public name for other layers (the LLM redactor scrubs these place words from what it sends out).
PLACE_WORDS: frozenset[str] = _PLACE_SUFFIXES
_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
_DIGITS = re.compile(r"\d")


def normalize_merchant(text: object) -> str:
    """Reduce a bank description to its merchant words: rail prefixes, numbers and place suffixes go.

    >>> normalize_merchant("UPI/SWIGGY*ORDER 1234 BANGALORE")
    'SWIGGY'
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    tokens = _NON_ALNUM.sub(" ", str(text).upper()).split()
    # A token that is mostly digits (card tail, order id "ORD98231") is noise; "1MG", "DREAM11" are names.
    tokens = [t for t in tokens if 2 * len(_DIGITS.findall(t)) < len(t)]
    while len(tokens) > 1 and tokens[0] in _RAIL_PREFIXES:
        tokens = tokens[1:]
    kept = [t for t in tokens if t not in _NOISE_TOKENS] or tokens
    while len(kept) > 1 and kept[-1] in _PLACE_SUFFIXES:
        kept = kept[:-1]
    return " ".join(kept)


def _alnum_upper_table() -> np.ndarray:
    """ASCII byte -> the byte upper-cased if a letter or digit, else a space (normalize_merchant's first steps)."""
    table = np.full(128, ord(" "), dtype=np.uint8)
    for char in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789":
        table[ord(char)] = table[ord(char.lower())] = ord(char)
    return table


_ALNUM_UPPER = _alnum_upper_table()


def _spaced_upper(texts: pa.StringArray) -> pa.StringArray:
    """ASCII texts upper-cased with every other character than A-Z and 0-9 made a space: one table look-up
    over the column's byte buffer (in ASCII a byte is a character), much faster than a regex per string."""
    validity, offsets, data = texts.buffers()
    if data is None or data.size == 0:
        return texts
    mapped = _ALNUM_UPPER[np.frombuffer(data, dtype=np.uint8)]
    return pa.StringArray.from_buffers(len(texts), offsets, pa.py_buffer(mapped), validity, texts.null_count,
                                       texts.offset)


def _segment_starts(owner: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For tokens grouped by owner: each group's first position, each token's group and its rank in it."""
    first = np.r_[True, owner[1:] != owner[:-1]]
    starts = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    return starts, group, np.arange(len(owner)) - starts[group]


def _normalize_ascii(texts: pa.Array) -> pa.Array:
    """`normalize_merchant` of ASCII strings, one token table for all of them instead of a loop.

    Same steps on the same tokens: digit-heavy tokens go, then the leading rail prefixes (keeping one
    token), the noise tokens (unless nothing else is left) and the trailing place names (keeping one).
    Upper-casing byte by byte is only right for ASCII (Python's `str.upper` turns "ß" into "SS"), hence
    the restriction.
    """
    words = pc.ascii_split_whitespace(_spaced_upper(texts))
    owner = pc.list_parent_indices(words).to_numpy()
    # What a token is (mostly digits, a rail prefix, noise, a place) is decided once per distinct token.
    encoded = pc.dictionary_encode(pc.list_flatten(words))
    token_code = encoded.indices.to_numpy()
    distinct = encoded.dictionary.to_pylist()

    def flag(test: Callable[[str], bool]) -> np.ndarray:
        return np.fromiter((test(t) for t in distinct), dtype=bool, count=len(distinct))[token_code]

    named = flag(lambda t: 2 * len(_DIGITS.findall(t)) < len(t))   # also drops the empty edge tokens
    tokens, token_code, owner = encoded.dictionary.take(pa.array(token_code[named])), token_code[named], owner[named]
    if len(tokens) == 0:
        return pa.array([""] * len(texts), pa.string())

    def among(words_set: frozenset[str]) -> np.ndarray:
        return np.fromiter((t in words_set for t in distinct), dtype=bool, count=len(distinct))[token_code]

    starts, group, rank = _segment_starts(owner)
    size = np.diff(np.r_[starts, len(owner)])
    # Leading rail prefixes: drop the run of them, but never the last token.
    first_other = np.minimum.reduceat(np.where(among(_RAIL_PREFIXES), size[group], rank), starts)
    kept = rank >= np.minimum(first_other, size - 1)[group]
    # Noise tokens, unless they are all that is left.
    signal = kept & ~among(_NOISE_TOKENS)
    kept = np.where(np.add.reduceat(signal.astype(np.int64), starts)[group] > 0, signal, kept)
    # Trailing place names: drop the run of them, but never the last kept token.
    position = np.cumsum(kept) - 1
    position = position - np.r_[0, np.cumsum(kept)][starts][group]
    n_kept = np.add.reduceat(kept.astype(np.int64), starts)
    last_other = np.maximum.reduceat(np.where(kept & ~among(_PLACE_SUFFIXES), position, -1), starts)
    trailing = n_kept - 1 - last_other
    kept &= position < (n_kept - np.minimum(trailing, n_kept - 1))[group]

    per_text = np.bincount(owner[kept], minlength=len(texts))
    offsets = pa.array(np.r_[0, np.cumsum(per_text)].astype(np.int32))
    return pc.binary_join(pa.ListArray.from_arrays(offsets, tokens.filter(pa.array(kept))), " ")


def normalize_merchants(values: Sequence[object]) -> np.ndarray:
    """`normalize_merchant` of many values (object array out): ASCII text in one vectorised pass, anything
    else (missing, non-ASCII, not text) one by one."""
    array = np.asarray(values, dtype=object)
    if pd.api.types.infer_dtype(array, skipna=True) != "string":  # not all text: one by one
        return np.array([normalize_merchant(v) for v in array], dtype=object)
    texts = pa.array(array, pa.string(), from_pandas=True)  # missing values become nulls
    fast = pc.fill_null(pc.string_is_ascii(texts), False).to_numpy(zero_copy_only=False)
    out = np.empty(len(array), dtype=object)
    out[fast] = _normalize_ascii(texts.filter(pa.array(fast))).to_numpy(zero_copy_only=False)
    out[~fast] = [normalize_merchant(v) for v in array[~fast]]
    return out


def load_merchant_examples(path: Path | str = DEFAULT_MERCHANTS_PATH) -> pd.DataFrame:
    """Read `merchant,category` rows; categories must be from the contract list."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"merchant", "category"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; expected header merchant,category")
    frame = frame[["merchant", "category"]].copy()
    frame["merchant"] = frame["merchant"].str.strip().str.upper()
    frame["category"] = frame["category"].str.strip().str.lower()
    bad = frame.loc[~frame["category"].isin(CATEGORIES), "category"].unique()
    if len(bad):
        raise ValueError(f"{path}: unknown categories {sorted(bad)}")
    frame = frame[frame["merchant"] != ""].drop_duplicates("merchant").reset_index(drop=True)
    return frame


def __getattr__(name: str) -> Any:
    # The model (scikit-learn, ~1.5 s to import) lives in analytics.merchant_model and is imported only when
    # a categorizer is built or named: the rules above serve one-shot CLI verbs without it.
    if name == "MerchantCategorizer":
        from analytics.merchant_model import MerchantCategorizer

        return MerchantCategorizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def train_default_categorizer(path: Path | str = DEFAULT_MERCHANTS_PATH) -> MerchantCategorizer:
    """The categorizer trained on the bundled merchant list (about a second)."""
    from analytics.merchant_model import MerchantCategorizer

    examples = load_merchant_examples(path)
    return MerchantCategorizer().fit(examples["merchant"], examples["category"])


_VARIANT_TEMPLATES = ("UPI/{m}*ORDER {n} BANGALORE", "POS {n} {m} THANE", "{m} MUMBAI", "ECOM {m} {n}",
                      "UPI-{m}-{n}@YBL", "{m} PVT LTD NEW DELHI")


def synthetic_variants(names: Sequence[str], random_state: int = 0) -> list[str]:
    """Bank-style renderings of merchant names, one per name, as they appear on statements."""
    rng = np.random.default_rng(random_state)
    out = []
    for name in names:
        template = _VARIANT_TEMPLATES[rng.integers(len(_VARIANT_TEMPLATES))]
        out.append(template.format(m=name, n=int(rng.integers(100, 99999))))
    return out


def evaluate_held_out_merchants(examples: pd.DataFrame, n_splits: int = 5, random_state: int = 0,
                                estimator: MerchantCategorizer | None = None) -> dict[str, float]:
    """Accuracy on merchants the model never saw (GroupKFold by normalised name), plain and as bank variants.

    Returns `held_out_accuracy` (plain names), `held_out_variant_accuracy` (the same unseen names wrapped
    in UPI/POS noise), `seen_variant_accuracy` (noise around names trained on) and `n_examples`.
    """
    from sklearn.model_selection import GroupKFold

    from analytics.merchant_model import MerchantCategorizer

    examples = examples[examples["category"] != "income"].reset_index(drop=True)
    names = examples["merchant"].to_numpy()
    labels = examples["category"].to_numpy()
    # Group by normalised name so a merchant and its variants never sit on both sides of a split.
    order = np.random.default_rng(random_state).permutation(len(names))
    names, labels = names[order], labels[order]
    groups = [normalize_merchant(n) for n in names]
    variants = np.asarray(synthetic_variants(list(names), random_state))
    plain_hits = variant_hits = 0
    splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    for train_idx, test_idx in splitter.split(names, labels, groups):
        model = (estimator or MerchantCategorizer(random_state=random_state))
        model = type(model)(**model.get_params()).fit(names[train_idx], labels[train_idx])
        plain_hits += int((model.predict(names[test_idx]) == labels[test_idx]).sum())
        variant_hits += int((model.predict(variants[test_idx]) == labels[test_idx]).sum())
    full = (estimator or MerchantCategorizer(random_state=random_state))
    full = type(full)(**full.get_params()).fit(names, labels)
    seen_hits = int((full.predict(variants) == labels).sum())
    n = len(names)
    return {
        "n_examples": float(n),
        "held_out_accuracy": plain_hits / n,
        "held_out_variant_accuracy": variant_hits / n,
        "seen_variant_accuracy": seen_hits / n,
    }


def debit_categories(categorizer: MerchantCategorizer, names: Sequence[str]) -> np.ndarray:
    """Most likely category for money going out: `income` is never a debit's category."""
    proba = categorizer.predict_proba(names)
    classes = np.asarray(categorizer.classes_, dtype=object)
    proba = np.where(classes == "income", -1.0, proba)
    return classes[proba.argmax(axis=1)]


def _per_distinct(values: pd.Series, fn) -> np.ndarray:
    """`fn` applied once per distinct non-missing value (object array, None where missing): a million rows
    carry a handful of txn_type/channel/category values, so this replaces a million string operations."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [fn(u) for u in uniques]
    mapped[-1] = None
    return mapped[codes]  # code -1 (missing) picks the trailing None


def _upper(value: object) -> str:
    return str(value).upper()


def assign_categories(txns: pd.DataFrame,
                      categorizer: MerchantCategorizer | Callable[[], MerchantCategorizer] | None) -> pd.Series:
    """One category per row of a canonical frame (contract §1), predicting each distinct merchant once.

    Order of evidence: a given `category` (normalised to the contract list); CREDIT -> `income`; an ATM
    debit -> `cash`; a debit with merchant text -> the categorizer; otherwise `uncategorized`.
    A `MerchantCategorizer` sees only `normalize_merchant` of the text, so it is asked once per distinct
    normalised merchant (tens of thousands of raw strings collapse to a few hundred).
    `categorizer` may also be a function that makes one (`train_default_categorizer`): it is called only
    if some row needs it, so a store whose rows all carry a category never trains a model.
    """
    n = len(txns)
    # Rows carry codes into `labels` until the end: a million small integers, not a million Python strings.
    labels: dict[str, int] = {UNCATEGORIZED: 0, "income": 1, "cash": 2}
    code = _label_codes(txns["category"], normalize_category, labels) if "category" in txns.columns else None
    code = np.full(n, -1, dtype=np.int64) if code is None else code
    # Each later rule reads only the rows still open: after the given categories, a small minority.
    for name, value, category in (("txn_type", CREDIT, "income"), ("channel", "ATM", "cash")):
        if name in txns.columns:
            rows = np.flatnonzero(code < 0)
            code[rows[_per_distinct(txns[name].iloc[rows], _upper) == value]] = labels[category]

    if categorizer is not None and "merchant" in txns.columns:
        rows = np.flatnonzero(code < 0)
        merchant_codes, merchants = pd.factorize(txns["merchant"].iloc[rows], use_na_sentinel=True)
        texts = np.array([str(m) for m in merchants], dtype=object)
        has_text = np.append(np.array([t.strip() != "" for t in texts], dtype=bool), False)
        todo = has_text[merchant_codes]  # code -1 (missing) picks the trailing False
        if todo.any():
            if not hasattr(categorizer, "predict_proba"):  # a function that makes one
                categorizer = cast("Callable[[], MerchantCategorizer]", categorizer)()
            used = np.flatnonzero(has_text[:-1])
            predicted = _predict_distinct(cast("MerchantCategorizer", categorizer), list(texts[used]))
            per_merchant = np.full(len(merchants), -1, dtype=np.int64)
            predicted_codes, distinct_predictions = pd.factorize(np.asarray(predicted, dtype=object))
            per_merchant[used] = np.array([labels.setdefault(str(p), len(labels)) for p in distinct_predictions],
                                          dtype=np.int64)[predicted_codes]
            code[rows[todo]] = per_merchant[merchant_codes[todo]]
            log.debug("categorised %d rows from %d distinct merchants", int(todo.sum()), len(used))
    code[code < 0] = labels[UNCATEGORIZED]
    return pd.Series(np.array(list(labels), dtype=object)[code], index=txns.index, name="category")


def _label_codes(values: pd.Series, fn: Callable[[Any], str | None], labels: dict[str, int]) -> np.ndarray:
    """Per row, the code in `labels` of fn(value), computed once per distinct value (new results are added
    to `labels`); -1 where the value is missing or fn gives None."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    results = [fn(u) for u in uniques]
    table = np.array([-1 if r is None else labels.setdefault(r, len(labels)) for r in results] + [-1], dtype=np.int64)
    return table[codes]  # code -1 (missing) picks the trailing -1


def _predict_distinct(categorizer: MerchantCategorizer, names: list[str]) -> np.ndarray:
    """Debit category of each distinct merchant text. A `MerchantCategorizer` sees only the normalised
    text, so raw strings with the same normalised form are asked about once (through the first of them)."""
    from analytics.merchant_model import MerchantCategorizer

    if not isinstance(categorizer, MerchantCategorizer):
        return debit_categories(categorizer, names)
    keys, representatives = pd.factorize(normalize_merchants(names))
    first = np.full(len(representatives), -1, dtype=np.int64)
    first[keys[::-1]] = np.arange(len(keys))[::-1]
    return debit_categories(categorizer, [names[i] for i in first])[keys]
