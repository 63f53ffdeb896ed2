-- Customer value: per-customer purchase summaries and scores, fitted model
-- versions, marketing spend for unit economics, and de-duplicated jobs
-- (for periodic work such as the model refit).

CREATE TABLE customer_value (
    customer_id       TEXT PRIMARY KEY REFERENCES customers(id),
    purchases         INTEGER NOT NULL,
    frequency         REAL NOT NULL,
    recency           REAL NOT NULL,
    t                 REAL NOT NULL,
    monetary_value    REAL NOT NULL,
    currency          TEXT NOT NULL,
    first_purchase_at INTEGER NOT NULL,
    last_purchase_at  INTEGER NOT NULL,
    rhythm_days       REAL,
    spend_trend       REAL,
    model_version     INTEGER,
    p_alive           REAL,
    expected_purchases REAL,
    expected_spend    REAL,
    clv               REAL,
    scored_at         INTEGER NOT NULL
);

CREATE TABLE clv_models (
    version         INTEGER PRIMARY KEY AUTOINCREMENT,
    fitted_at       INTEGER NOT NULL,
    purchase_model  TEXT NOT NULL,
    purchase_params TEXT NOT NULL,
    spend_params    TEXT,
    diagnostics     TEXT NOT NULL,
    n_customers     INTEGER NOT NULL,
    period          TEXT NOT NULL,
    active          INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE marketing_spend (
    id           TEXT PRIMARY KEY,
    channel      TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    period_end   INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    source       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (channel, period_start, period_end)
);

ALTER TABLE jobs ADD COLUMN dedup_key TEXT;
-- At most one waiting or running job per key; finished ones do not block.
CREATE UNIQUE INDEX jobs_dedup ON jobs(dedup_key) WHERE dedup_key IS NOT NULL AND state IN ('queued', 'running');
