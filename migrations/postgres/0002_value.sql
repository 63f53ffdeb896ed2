-- Customer value: per-customer purchase summaries and scores, fitted model
-- versions, marketing spend for unit economics, and de-duplicated jobs
-- (for periodic work such as the model refit).

CREATE TABLE customer_value (
    customer_id       UUID PRIMARY KEY REFERENCES customers(id),
    purchases         BIGINT NOT NULL,
    frequency         DOUBLE PRECISION NOT NULL,
    recency           DOUBLE PRECISION NOT NULL,
    t                 DOUBLE PRECISION NOT NULL,
    monetary_value    DOUBLE PRECISION NOT NULL,
    currency          TEXT NOT NULL,
    first_purchase_at BIGINT NOT NULL,
    last_purchase_at  BIGINT NOT NULL,
    rhythm_days       DOUBLE PRECISION,
    spend_trend       DOUBLE PRECISION,
    model_version     BIGINT,
    p_alive           DOUBLE PRECISION,
    expected_purchases DOUBLE PRECISION,
    expected_spend    DOUBLE PRECISION,
    clv               DOUBLE PRECISION,
    scored_at         BIGINT NOT NULL
);

CREATE TABLE clv_models (
    version         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fitted_at       BIGINT NOT NULL,
    purchase_model  TEXT NOT NULL,
    purchase_params JSONB NOT NULL,
    spend_params    JSONB,
    diagnostics     JSONB NOT NULL,
    n_customers     BIGINT NOT NULL,
    period          TEXT NOT NULL,
    active          BOOLEAN NOT NULL DEFAULT false
);
-- One active version; a concurrent second save fails and is retried.
CREATE UNIQUE INDEX clv_models_one_active ON clv_models(active) WHERE active;

CREATE TABLE marketing_spend (
    id           UUID PRIMARY KEY,
    channel      TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    period_end   BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    source       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (channel, period_start, period_end)
);

ALTER TABLE jobs ADD COLUMN dedup_key TEXT;
-- At most one waiting or running job per key; finished ones do not block.
CREATE UNIQUE INDEX jobs_dedup ON jobs(dedup_key) WHERE dedup_key IS NOT NULL AND state IN ('queued', 'running');
