"""The vocabulary shared by every stage: raw CSV columns, canonical frame columns and spending categories."""

from __future__ import annotations

from typing import Final

# Contract §1: the raw public file's header, exactly.
RAW_REQUIRED_COLUMNS: Final = (
    "TransactionID",
    "CustomerID",
    "CustomerDOB",
    "CustGender",
    "CustLocation",
    "CustAccountBalance",
    "TransactionDate",
    "TransactionTime",
    "TransactionAmount (INR)",
)
RAW_OPTIONAL_COLUMNS: Final = ("TransactionType", "Merchant", "Category", "Channel")

# Canonical transaction frame produced by `analytics.ingest` and read back from the store.
# ts: naive local datetime64[ns]; amount: float64 > 0 (direction is in txn_type); balance: float64, NaN if unknown;
# dob: datetime64[ns], NaT if unknown; gender: "M"/"F"/None; location, merchant, category, channel: str or None.
TXN_COLUMNS: Final = (
    "transaction_id",
    "customer_id",
    "ts",
    "amount",
    "balance",
    "txn_type",
    "merchant",
    "category",
    "channel",
    "location",
    "dob",
    "gender",
)

DEBIT: Final = "DEBIT"
CREDIT: Final = "CREDIT"

# Contract §1: spending categories, everywhere. `income` is for credits.
CATEGORIES: Final = (
    "groceries",
    "dining",
    "travel",
    "fuel",
    "shopping",
    "utilities",
    "rent",
    "entertainment",
    "health",
    "education",
    "cash",
    "transfers",
    "income",
    "other",
)
SPENDING_CATEGORIES: Final = tuple(c for c in CATEGORIES if c != "income")
UNCATEGORIZED: Final = "uncategorized"

# Values a bank export might use for our categories; anything else unknown maps to "other".
CATEGORY_SYNONYMS: Final = {
    "grocery": "groceries",
    "supermarket": "groceries",
    "food": "dining",
    "restaurant": "dining",
    "restaurants": "dining",
    "food & dining": "dining",
    "food and dining": "dining",
    "eating out": "dining",
    "transport": "travel",
    "transportation": "travel",
    "flights": "travel",
    "hotel": "travel",
    "petrol": "fuel",
    "gas": "fuel",
    "retail": "shopping",
    "apparel": "shopping",
    "electronics": "shopping",
    "bills": "utilities",
    "bill payment": "utilities",
    "telecom": "utilities",
    "housing": "rent",
    "movies": "entertainment",
    "subscriptions": "entertainment",
    "medical": "health",
    "pharmacy": "health",
    "healthcare": "health",
    "fees": "education",
    "school": "education",
    "atm": "cash",
    "cash withdrawal": "cash",
    "transfer": "transfers",
    "p2p": "transfers",
    "salary": "income",
    "refund": "income",
    "interest": "income",
}


def normalize_category(value: str | None) -> str | None:
    """Map a given Category value to the contract list: exact, synonym, or `other`; None stays None."""
    if value is None:
        return None
    key = str(value).strip().lower()
    if not key or key == "nan":
        return None
    if key in CATEGORIES:
        return key
    return CATEGORY_SYNONYMS.get(key, "other")
