"""Named schema migrations, applied once each, in order. Append new ones; never edit an applied one.

Write them as plain SQLite DDL: the same names run on PostgreSQL through bot/storage/dialect.py (a new table
whose code reads `rowid` must be named in dialect.ROWID_TABLES). A callable step gets the backend's connection.
"""

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

BOT_0002 = """
CREATE TABLE chat_links (
    chat_id      INTEGER PRIMARY KEY,     -- one chat is linked to one customer
    customer_id  TEXT NOT NULL,           -- one customer may have several chats
    user_id      INTEGER,
    linked_at    TEXT NOT NULL            -- ISO-8601 UTC
);
CREATE INDEX idx_chat_links_customer ON chat_links (customer_id);

CREATE TABLE link_codes (
    code_hash    TEXT PRIMARY KEY,        -- HMAC-SHA256 of the code; the code itself is never stored
    customer_id  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    used_by_chat INTEGER
);

CREATE TABLE link_failures (
    chat_id      INTEGER PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure TEXT NOT NULL,
    locked_until TEXT
);

CREATE TABLE bot_secrets (
    name         TEXT PRIMARY KEY,
    value        BLOB NOT NULL
);

CREATE TABLE alert_preferences (
    chat_id               INTEGER PRIMARY KEY,
    low_balance           INTEGER NOT NULL,
    unusual               INTEGER NOT NULL,
    monthly               INTEGER NOT NULL,
    offers                INTEGER NOT NULL,
    low_balance_threshold REAL NOT NULL,
    quiet_hours           TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);

CREATE TABLE admin_audit (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    ts            TEXT NOT NULL,
    admin_user_id INTEGER NOT NULL,
    chat_id       INTEGER,
    action        TEXT NOT NULL,          -- 'stats', 'segments', 'broadcast_send', 'denied', ...
    details       TEXT NOT NULL           -- JSON
);

CREATE TABLE broadcasts (
    broadcast_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at    TEXT NOT NULL,
    admin_user_id INTEGER NOT NULL,
    target_kind   TEXT NOT NULL,          -- 'segment', 'churn', 'all'
    target_value  TEXT,
    message       TEXT NOT NULL,
    audience_size INTEGER NOT NULL,
    control_share REAL NOT NULL,
    control_size  INTEGER NOT NULL,
    seed          INTEGER NOT NULL,
    status        TEXT NOT NULL,          -- 'sending', 'done'
    sent          INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    finished_at   TEXT
);

CREATE TABLE broadcast_recipients (
    broadcast_id  INTEGER NOT NULL,
    chat_id       INTEGER NOT NULL,
    customer_id   TEXT NOT NULL,
    grp           TEXT NOT NULL,          -- 'treatment' or 'control' (held out: receives nothing)
    status        TEXT NOT NULL,          -- 'pending', 'sent', 'failed', 'held_out'
    sent_at       TEXT,
    error         TEXT,
    PRIMARY KEY (broadcast_id, chat_id)
);
CREATE INDEX idx_broadcast_recipients_customer ON broadcast_recipients (customer_id)
"""

NOTIFY_0003 = """
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id     INTEGER NOT NULL,
    kind        TEXT NOT NULL,            -- low_balance | unusual | monthly_summary | retention_offer
    dedupe_key  TEXT NOT NULL UNIQUE,     -- a re-run of a check never queues the same message twice
    payload     TEXT NOT NULL,            -- JSON: text, photo path, buttons, ids
    created_at  TEXT NOT NULL,            -- ISO-8601 UTC
    due_at      TEXT NOT NULL,            -- ISO-8601 UTC, after the chat's quiet hours
    status      TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | failed | dropped
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    sent_at     TEXT,
    message_id  INTEGER
);
CREATE INDEX idx_outbox_status_due ON outbox (status, due_at);

CREATE TABLE fraud_checks (
    transaction_id TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL,
    chat_id        INTEGER NOT NULL,      -- the chat the question was first sent to
    message_id     INTEGER,
    status         TEXT NOT NULL DEFAULT 'pending',  -- pending | confirmed | disputed
    created_at     TEXT NOT NULL,
    answered_at    TEXT,
    answered_chat  INTEGER
);
CREATE INDEX idx_fraud_checks_customer ON fraud_checks (customer_id, status)
"""

MODELS_0004 = """
-- Figures `train` stores beside each customer's scores so exports and admin views need no recomputation.
ALTER TABLE customer_scores ADD COLUMN churn_level TEXT;            -- 'low', 'medium', 'high'
ALTER TABLE customer_scores ADD COLUMN balance_now REAL;
ALTER TABLE customer_scores ADD COLUMN monthly_spend REAL;
ALTER TABLE customer_scores ADD COLUMN frequency_per_month REAL;
ALTER TABLE customer_scores ADD COLUMN recency_days INTEGER;
ALTER TABLE customer_scores ADD COLUMN n_txn INTEGER;
ALTER TABLE customer_scores ADD COLUMN age_band TEXT;
ALTER TABLE customer_scores ADD COLUMN as_of TEXT;
CREATE INDEX idx_transaction_scores_flagged ON transaction_scores (flagged, anomaly_score)
"""

SCALE_0005 = """
-- Only flagged rows are ever looked up by customer or ranked by score: partial indexes hold about 1% of the
-- rows, so a retrain no longer rebuilds two million-entry indexes.
DROP INDEX idx_transaction_scores_customer;
CREATE INDEX idx_transaction_scores_customer ON transaction_scores (customer_id) WHERE flagged = 1;
DROP INDEX idx_transaction_scores_flagged;
CREATE INDEX idx_transaction_scores_flagged ON transaction_scores (anomaly_score) WHERE flagged = 1;
-- A random identity per store, so a columnar snapshot of its transactions is never mistaken for another's.
CREATE TABLE store_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
INSERT INTO store_meta (key, value) VALUES ('store_id', lower(hex(randomblob(16))))
"""

DELIVERY_0006 = """
-- Delivery that survives outages and crashes (issue 9). A row is claimed before it is sent ('sending' with a
-- lease: claimed_by, lease_until), so several workers can share the outbox (PostgreSQL: FOR UPDATE SKIP
-- LOCKED) and a row left 'sending' by a crash is reclaimed once its lease ends.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
ALTER TABLE outbox ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;          -- transient failures so far (backoff)
ALTER TABLE outbox ADD COLUMN unknown_outcomes INTEGER NOT NULL DEFAULT 0;  -- timeouts / crashes mid-send
CREATE INDEX idx_outbox_chat_status ON outbox (chat_id, status);
-- A broadcast is an outbox-backed job: each treatment recipient is one outbox row.
ALTER TABLE broadcast_recipients ADD COLUMN outbox_id INTEGER;
ALTER TABLE broadcasts ADD COLUMN as_of TEXT;                 -- the analytics date when it started (uplift window)
ALTER TABLE broadcasts ADD COLUMN progress_chat_id INTEGER;   -- where the admin's progress message is
ALTER TABLE broadcasts ADD COLUMN progress_message_id INTEGER
"""


def delivery_0006(db: sqlite_utils.Database) -> None:
    """The columns above, then: a broadcast left 'sending' by a crash before this version resumes through the
    outbox (each recipient still 'pending' gets its row; the ones recorded 'sent' get nothing more)."""
    import html
    import json

    for statement in DELIVERY_0006.split(";"):
        code = "\n".join(line.split("--", 1)[0] for line in statement.splitlines()).strip()
        if code:
            db.execute(code)
    rows = db.execute(
        "SELECT r.broadcast_id, r.chat_id, r.customer_id, b.message, b.created_at FROM broadcast_recipients r"
        " JOIN broadcasts b ON b.broadcast_id = r.broadcast_id"
        " WHERE b.status = 'sending' AND r.grp = 'treatment' AND r.status = 'pending'").fetchall()
    for broadcast_id, chat_id, customer_id, message, created_at in rows:
        key = f"broadcast:{broadcast_id}:{chat_id}"
        payload = {"text": html.escape(message, quote=False), "photo": None, "buttons": None,
                   "meta": {"customer_id": customer_id, "broadcast_id": broadcast_id}}
        db.execute("INSERT INTO outbox (chat_id, kind, dedupe_key, payload, created_at, due_at, status)"
                   " VALUES (?, 'retention_offer', ?, ?, ?, ?, 'pending') ON CONFLICT (dedupe_key) DO NOTHING",
                   [chat_id, key, json.dumps(payload, ensure_ascii=False), created_at, created_at])
        db.execute("UPDATE broadcast_recipients SET outbox_id = (SELECT id FROM outbox WHERE dedupe_key = ?)"
                   " WHERE broadcast_id = ? AND chat_id = ?", [key, broadcast_id, chat_id])
    # One left 'sending' with nobody pending had in fact finished.
    db.execute(
        "UPDATE broadcasts SET status = 'done',"
        " sent = (SELECT COUNT(*) FROM broadcast_recipients r WHERE r.broadcast_id = broadcasts.broadcast_id"
        "         AND r.status = 'sent'),"
        " failed = (SELECT COUNT(*) FROM broadcast_recipients r WHERE r.broadcast_id = broadcasts.broadcast_id"
        "         AND r.status = 'failed')"
        " WHERE status = 'sending' AND NOT EXISTS (SELECT 1 FROM broadcast_recipients r"
        "   WHERE r.broadcast_id = broadcasts.broadcast_id AND r.grp = 'treatment' AND r.status = 'pending')")

PRIVATE_LINKS_0007 = """
-- Only private chats may be linked (issue 9): a link made in a group showed the customer's data to every member.
-- Telegram gives groups, supergroups and channels negative chat ids (a private chat's id is the user's, > 0).
-- Such links are removed, not kept disabled: the customer links again in a private chat. Their alert settings
-- go too, and every message not yet sent to those chats is dropped (a balance or a fraud question would leak).
DELETE FROM chat_links WHERE chat_id < 0;
DELETE FROM alert_preferences WHERE chat_id < 0;
UPDATE outbox SET status = 'dropped', last_error = 'group chat: account messages go to private chats only'
 WHERE chat_id < 0 AND status NOT IN ('sent', 'dropped')
"""

ALERT_KINDS_0008 = """
-- The proactive kinds of issue 10, each switched on or off per chat in /alerts: spending trend and budget pace,
-- low balance forecast before it happens, recurring-payment changes (price rise, duplicate charge). On unless
-- the customer switches them off, like the kinds before them.
ALTER TABLE alert_preferences ADD COLUMN trend INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alert_preferences ADD COLUMN forecast INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alert_preferences ADD COLUMN recurring INTEGER NOT NULL DEFAULT 1;
-- The weekly cap of trend messages and the same-day rule of the two low-balance warnings read a chat's recent
-- rows of a kind.
CREATE INDEX idx_outbox_chat_kind_created ON outbox (chat_id, kind, created_at)
"""

HANDOFFS_0009 = """
-- Talk to a person (issue 10): a customer's request for the bank's support team, with a short reference.
CREATE TABLE handoffs (
    handoff_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    reference          TEXT NOT NULL UNIQUE,      -- shown to the customer and the support team, e.g. 'H-7K3QD9'
    chat_id            INTEGER NOT NULL,          -- the customer's private chat
    customer_id        TEXT NOT NULL,
    status             TEXT NOT NULL,             -- 'open', 'closed', 'expired' or 'undelivered'
    source             TEXT NOT NULL,             -- 'command' (/human), 'assistant' (asked in words), 'offer'
    support_chat_id    INTEGER,                   -- where it was sent
    support_message_id INTEGER,                   -- that message (kept up to date; staff reply to it)
    created_at         TEXT NOT NULL,             -- UTC ISO-8601
    updated_at         TEXT NOT NULL,             -- the latest request or staff reply
    closed_at          TEXT,
    n_requests         INTEGER NOT NULL DEFAULT 0,
    n_staff_replies    INTEGER NOT NULL DEFAULT 0,
    context            TEXT NOT NULL DEFAULT ''   -- the conversation before it, as forwarded (cleaned, cut short)
);
-- One open handoff per chat: a second request adds to it.
CREATE UNIQUE INDEX idx_handoffs_open_chat ON handoffs (chat_id) WHERE status = 'open';
CREATE INDEX idx_handoffs_support_message ON handoffs (support_chat_id, support_message_id);
CREATE TABLE handoff_messages (
    handoff_id INTEGER NOT NULL REFERENCES handoffs (handoff_id),
    seq        INTEGER NOT NULL,                  -- 1 = the request that opened it
    author     TEXT NOT NULL,                     -- 'customer' or 'staff'
    text       TEXT NOT NULL,                     -- as forwarded: dates of birth and card numbers removed
    created_at TEXT NOT NULL,
    PRIMARY KEY (handoff_id, seq)
)
"""


# A random token that changes with every write to customer_scores (issue 11): `export` reads its columnar copy
# of the table (bot/storage/score_snapshot.py) only while the token is the one the copy was made at, so no
# writer (intake, another train, another worker, a hand-made UPDATE) can leave it showing other numbers than the
# rows. SQLite has row triggers only (`train`'s bulk replace drops them for its load and sets the token itself);
# PostgreSQL has statement triggers (one update per statement, COPY and TRUNCATE included).
CUSTOMER_SCORES_VERSION = "customer_scores_version"
_SQLITE_VERSION_TRIGGER = (
    "CREATE TRIGGER customer_scores_changed_{name} AFTER {event} ON customer_scores BEGIN"
    " UPDATE store_meta SET value = lower(hex(randomblob(16))) WHERE key = '" + CUSTOMER_SCORES_VERSION + "'; END")
_PG_VERSION_FUNCTION = (
    "CREATE OR REPLACE FUNCTION customer_scores_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " UPDATE store_meta SET value = replace(gen_random_uuid()::text, '-', '') WHERE key = '"
    + CUSTOMER_SCORES_VERSION + "'; RETURN NULL; END $$")
_PG_VERSION_TRIGGER = ("CREATE TRIGGER customer_scores_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
                       " ON customer_scores FOR EACH STATEMENT EXECUTE FUNCTION customer_scores_changed()")


def customer_scores_version_0010(db: sqlite_utils.Database) -> None:
    db.execute("INSERT INTO store_meta (key, value) VALUES ('" + CUSTOMER_SCORES_VERSION
               + "', lower(hex(randomblob(16))))")
    raw = getattr(db, "raw", None)  # PostgreSQL's connection (bot/storage/postgres.py): its own trigger syntax
    if raw is not None:
        raw.execute(_PG_VERSION_FUNCTION)
        raw.execute(_PG_VERSION_TRIGGER)
        return
    for event in ("INSERT", "UPDATE", "DELETE"):
        db.execute(_SQLITE_VERSION_TRIGGER.format(name=event.lower(), event=event))


MIGRATIONS: list[Migration] = [
    ("0001_core", CORE_0001),
    ("0002_bot", BOT_0002),
    ("0003_notify", NOTIFY_0003),
    ("0004_models_scores", MODELS_0004),
    ("0005_scale", SCALE_0005),
    ("0006_delivery", delivery_0006),
    ("0007_private_links", PRIVATE_LINKS_0007),
    ("0008_alert_kinds", ALERT_KINDS_0008),
    ("0009_handoffs", HANDOFFS_0009),
    ("0010_customer_scores_version", customer_scores_version_0010),
]
