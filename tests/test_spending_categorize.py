"""Merchant categorizer: generalisation to unseen merchants and the per-row category rules."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.categorize import (
    DEFAULT_MERCHANTS_PATH,
    MerchantCategorizer,
    assign_categories,
    evaluate_held_out_merchants,
    load_merchant_examples,
    normalize_merchant,
    normalize_merchants,
    train_default_categorizer,
)
from analytics.schema import CATEGORIES, TXN_COLUMNS

# Measured 0.625 plain / 0.621 bank-style variants (seed 0; 0.62-0.645 over seeds 0-4), 5 folds grouped by
# merchant, 643 names in 13 spending categories (chance ~0.08); the floor leaves slack for fold noise.
HELD_OUT_FLOOR = 0.58


@pytest.fixture(scope="module")
def categorizer() -> MerchantCategorizer:
    return train_default_categorizer()


def frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    for column in TXN_COLUMNS:
        if column not in out.columns:
            out[column] = None
    return out[list(TXN_COLUMNS)]


def test_merchant_list_covers_every_category_with_ascii_upper_names():
    with DEFAULT_MERCHANTS_PATH.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    counts = pd.Series([r["category"] for r in rows]).value_counts()
    for category in CATEGORIES:
        assert counts.get(category, 0) >= (20 if category == "income" else 40), category
    assert all(r["merchant"].isascii() and r["merchant"] == r["merchant"].upper() for r in rows)
    assert DEFAULT_MERCHANTS_PATH.stat().st_size < 60_000


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("UPI/SWIGGY*ORDER 1234 BANGALORE", "SWIGGY"),
        ("POS 4456 DMART THANE", "DMART"),
        ("DELHI METRO", "DELHI METRO"),
        ("APOLLO PHARMACY PVT LTD NEW DELHI", "APOLLO PHARMACY"),
        ("1MG", "1MG"),
        ("UPI/DREAM11/MUMBAI", "DREAM11"),
        ("ECOM AMAZON ORD98231", "AMAZON"),
    ],
)
def test_normalize_merchant_keeps_only_the_merchant_words(raw, expected):
    assert normalize_merchant(raw) == expected


def test_held_out_merchant_accuracy_beats_floor():
    scores = evaluate_held_out_merchants(load_merchant_examples(), n_splits=5, random_state=0)
    print(f"held-out merchants: {scores}")
    assert scores["held_out_accuracy"] >= HELD_OUT_FLOOR
    assert scores["held_out_variant_accuracy"] >= HELD_OUT_FLOOR
    # Chance among 13 spending categories is about 0.08.


def test_bank_style_variants_of_known_merchants_are_recognised(categorizer):
    variants = ["UPI/SWIGGY*ORDER 1234 BANGALORE", "POS 4456 DMART THANE", "ATM WDL 000123 PUNE",
                "ECOM NETFLIX 99812", "IOCL FUEL STATION 44 CHENNAI", "UPI-APOLLO PHARMACY-5512@YBL"]
    expected = ["dining", "groceries", "cash", "entertainment", "fuel", "health"]
    assert categorizer.predict(variants).tolist() == expected


def test_unseen_descriptive_merchants_land_in_their_category(categorizer):
    names = ["SUNRISE SUPERMARKET", "GREEN VALLEY SCHOOL FEES", "KAVERI MEDICALS", "SHELL FUEL STATION"]
    assert categorizer.predict(names).tolist() == ["groceries", "education", "health", "fuel"]


def test_predict_proba_rows_sum_to_one(categorizer):
    proba = categorizer.predict_proba(["ZOMATO", "IRCTC"])
    assert proba.shape == (2, len(categorizer.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_load_merchant_examples_rejects_unknown_category(tmp_path: Path):
    path = tmp_path / "m.csv"
    path.write_text("merchant,category\nDMART,groceries\nFOO,gadgets\n")
    with pytest.raises(ValueError, match="gadgets"):
        load_merchant_examples(path)


def test_assign_categories_follows_the_order_of_evidence(categorizer):
    txns = frame([
        {"txn_type": "DEBIT", "merchant": "SWIGGY", "category": "Restaurant"},   # given wins, normalised
        {"txn_type": "CREDIT", "merchant": "SWIGGY"},                           # credit -> income
        {"txn_type": "DEBIT", "channel": "ATM"},                                # ATM, no merchant -> cash
        {"txn_type": "DEBIT", "merchant": "POS 4456 DMART THANE"},             # categorizer
        {"txn_type": "DEBIT"},                                                  # nothing to go on
        {"txn_type": None, "merchant": "BIGBASKET"},                           # no type = debit
    ])
    assert assign_categories(txns, categorizer).tolist() == [
        "dining", "income", "cash", "groceries", "uncategorized", "groceries"]


def test_assign_categories_without_categorizer_leaves_merchant_rows_uncategorized():
    txns = frame([{"txn_type": "DEBIT", "merchant": "SWIGGY"}])
    assert assign_categories(txns, None).tolist() == ["uncategorized"]


def test_a_debit_is_never_categorised_as_income(categorizer):
    txns = frame([{"txn_type": "DEBIT", "merchant": "SALARY INFOSYS LTD"},
                  {"txn_type": "DEBIT", "merchant": "INTEREST CREDIT"}])
    assert "income" not in assign_categories(txns, categorizer).tolist()


class CountingCategorizer:
    """Records how many names it was asked about."""

    classes_ = np.array(["dining", "groceries"])

    def __init__(self) -> None:
        self.asked = 0

    def predict_proba(self, names):
        names = list(names)
        self.asked += len(names)
        return np.tile([1.0, 0.0], (len(names), 1))


def test_assign_categories_predicts_each_distinct_merchant_once():
    txns = frame([{"txn_type": "DEBIT", "merchant": m} for m in ["A", "B", "A", "A", "B"] * 1000])
    counting = CountingCategorizer()
    result = assign_categories(txns, counting)
    assert counting.asked == 2
    assert (result == "dining").all()


def test_normalize_merchants_equals_normalize_merchant_one_by_one():
    names = ["UPI/SWIGGY*ORDER 1234 BANGALORE", "POS 4456 DMART THANE", "DELHI METRO", "NEW DELHI", "UPI",
             "UPI POS", "POS 1234", "THE AND LTD", "ECOM AMAZON ORD98231", "upi-zomato-55120@ybl", "1MG", "",
             "   ", "PAY IN MUMBAI", "ONLINE DEBIT CARD", "X MH KA", "café coffee day", "straße 12", "ı", None,
             float("nan")]
    expected = [normalize_merchant(n) for n in names]
    assert normalize_merchants(names).tolist() == expected
    assert normalize_merchants([n for n in names if isinstance(n, str)]).tolist() == [
        e for n, e in zip(names, expected, strict=True) if isinstance(n, str)]
    assert normalize_merchants([12, "POS 9 DMART"]).tolist() == ["", "DMART"]


def test_assign_categories_trains_the_categorizer_only_when_a_row_needs_it(categorizer):
    calls = []

    def train():
        calls.append(1)
        return categorizer

    given = frame([{"txn_type": "DEBIT", "merchant": "SWIGGY", "category": "dining"}])
    assert assign_categories(given, train).tolist() == ["dining"] and calls == []
    open_rows = frame([{"txn_type": "DEBIT", "merchant": "POS 4456 DMART THANE"},
                       {"txn_type": "DEBIT", "merchant": "UPI/DMART/1234"}])
    assert assign_categories(open_rows, train).tolist() == assign_categories(open_rows, categorizer).tolist()
    assert calls == [1]
