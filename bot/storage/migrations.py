"""Named schema migrations, applied once each, in order. Append new ones; never edit an applied one."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

Migration = tuple[str, "str | Callable[[sqlite_utils.Database], None]"]

CORE_0001 = """
CREATE TABLE transactions (
    transaction_id TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL,
    ts             TEXT NOT NULL,          -- 'YYYY-MM-DD HH:MM:SS', bank-local time
    txn_date       TEXT NOT NULL,          -- 'YYYY-MM-DD'
    amount         REAL NOT NULL,          -- rupees, >= 0; direction in txn_type
    balance        REAL,                   -- balance at the time of the transaction, if known
    txn_type       TEXT NOT NULL,          -- 'DEBIT' or 'CREDIT'
    merchant       TEXT,
    category       TEXT,                   -- given by the source, normalised to the contract list
    channel        TEXT,
    location       TEXT,
    dob            TEXT,                   -- 'YYYY-MM-DD' or NULL when unknown
    gender         TEXT,                   -- 'M', 'F' or NULL
    source         TEXT                    -- ingest run id or 'api'
);
CREATE INDEX idx_transactions_customer_ts ON transactions (customer_id, ts);
CREATE INDEX idx_transactions_date ON transactions (txn_date);

CREATE TABLE customers (
    customer_id  TEXT PRIMARY KEY,
    dob          TEXT,                    -- profile fields of the customer's latest row (an ID is not one person)
    gender       TEXT,
    location     TEXT,
    first_txn    TEXT,
    last_txn     TEXT,
    n_txn        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE ingest_runs (
    run_id       TEXT PRIMARY KEY,
    started_at   TEXT NOT NULL,
    files        TEXT NOT NULL,           -- JSON list
    rows_read    INTEGER NOT NULL,
    accepted     INTEGER NOT NULL,
    inserted     INTEGER NOT NULL,
    duplicates   INTEGER NOT NULL,
    rejected     INTEGER NOT NULL,
    rejects_path TEXT
);

CREATE TABLE transaction_scores (
    transaction_id TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL,
    category       TEXT NOT NULL,
    anomaly_score  REAL NOT NULL,
    flagged        INTEGER NOT NULL,
    reasons        TEXT NOT NULL,          -- JSON list of sentences
    scored_at      TEXT NOT NULL
);
CREATE INDEX idx_transaction_scores_customer ON transaction_scores (customer_id, flagged);

CREATE TABLE customer_scores (
    customer_id    TEXT PRIMARY KEY,
    segment        INTEGER NOT NULL,
    persona        TEXT NOT NULL,
    churn_risk     REAL NOT NULL,
    churn_reasons  TEXT NOT NULL,          -- JSON list
    rfm_recency    INTEGER NOT NULL,
    rfm_frequency  INTEGER NOT NULL,
    rfm_monetary   INTEGER NOT NULL,
    scored_at      TEXT NOT NULL
);
CREATE INDEX idx_customer_scores_segment ON customer_scores (segment);

CREATE TABLE segments (
    segment      INTEGER PRIMARY KEY,
    persona      TEXT NOT NULL,
    description  TEXT NOT NULL,
    size         INTEGER NOT NULL,
    centroid     TEXT NOT NULL            -- JSON {feature: value}
);

CREATE TABLE model_artifacts (
    name        TEXT PRIMARY KEY,         -- 'anomaly', 'churn', 'segments', 'categorizer', ...
    created_at  TEXT NOT NULL,
    as_of       TEXT,
    metrics     TEXT NOT NULL,            -- JSON of evaluation figures
    blob        BLOB NOT NULL             -- pickled estimator
)
"""

MIGRATIONS: list[Migration] = [
    ("0001_core", CORE_0001),
]
