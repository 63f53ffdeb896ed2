-- The spine: customers and their identifiers, events, conversations and
-- messages, drafts with their audit trail, the outbox and the job queue.
-- Times are microseconds since the Unix epoch (INTEGER); ids are UUID text.

CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    name        TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    merged_into TEXT REFERENCES customers(id)
);

-- One owner per identifier. Matching treats a second value of a kind as a
-- conflict; only a merge gives a customer several (the merged one's stay
-- as aliases so that later input still finds the survivor).
CREATE TABLE customer_identifiers (
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX customer_identifiers_customer ON customer_identifiers(customer_id, kind);

CREATE TABLE identity_conflicts (
    id                TEXT PRIMARY KEY,
    customer_id       TEXT REFERENCES customers(id),
    other_customer_id TEXT REFERENCES customers(id),
    kind              TEXT NOT NULL,
    value             TEXT NOT NULL,
    existing_value    TEXT,
    source            TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    resolved_at       INTEGER
);
CREATE INDEX identity_conflicts_customer ON identity_conflicts(customer_id);
CREATE INDEX identity_conflicts_other ON identity_conflicts(other_customer_id);

CREATE TABLE customer_stats (
    customer_id    TEXT PRIMARY KEY REFERENCES customers(id),
    orders         INTEGER NOT NULL DEFAULT 0,
    revenue_minor  INTEGER NOT NULL DEFAULT 0,
    refunds_minor  INTEGER NOT NULL DEFAULT 0,
    first_order_at INTEGER,
    last_order_at  INTEGER,
    last_event_at  INTEGER,
    subscription   TEXT NOT NULL DEFAULT 'none',
    events         INTEGER NOT NULL DEFAULT 0,
    messages       INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    source_id       TEXT UNIQUE,
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    kind            TEXT NOT NULL,
    occurred_at     INTEGER NOT NULL,
    occurred_offset INTEGER NOT NULL,
    amount_minor    INTEGER,
    currency        TEXT,
    channel         TEXT NOT NULL,
    properties      TEXT NOT NULL DEFAULT '{}',
    digest          TEXT NOT NULL,
    received_at     INTEGER NOT NULL
);
CREATE INDEX events_customer_time ON events(customer_id, occurred_at);

CREATE TABLE conversations (
    id              TEXT PRIMARY KEY,
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    channel         TEXT NOT NULL,
    thread          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open',
    created_at      INTEGER NOT NULL,
    last_message_at INTEGER NOT NULL,
    UNIQUE (customer_id, channel, thread)
);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    channel         TEXT NOT NULL,
    direction       TEXT NOT NULL,
    external_id     TEXT,
    subject         TEXT,
    body            TEXT NOT NULL,
    digest          TEXT NOT NULL,
    at              INTEGER NOT NULL,
    received_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_external ON messages(channel, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX messages_conversation ON messages(conversation_id, at);
CREATE INDEX messages_customer ON messages(customer_id, at);

CREATE TABLE drafts (
    id              TEXT PRIMARY KEY,
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    in_reply_to     TEXT REFERENCES messages(id),
    channel         TEXT NOT NULL,
    state           TEXT NOT NULL,
    body            TEXT NOT NULL,
    original_body   TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX drafts_state ON drafts(state, created_at);

CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    action     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT,
    detail     TEXT,
    at         INTEGER NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id, at);

CREATE TABLE outbox (
    id                 TEXT PRIMARY KEY,
    draft_id           TEXT UNIQUE REFERENCES drafts(id),
    customer_id        TEXT NOT NULL REFERENCES customers(id),
    conversation_id    TEXT NOT NULL REFERENCES conversations(id),
    channel            TEXT NOT NULL,
    recipient          TEXT NOT NULL,
    subject            TEXT,
    body               TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL UNIQUE,
    state              TEXT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    channel_message_id TEXT,
    last_error         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    sent_at            INTEGER
);
CREATE INDEX outbox_state ON outbox(state);

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_after    INTEGER NOT NULL,
    lease_until  INTEGER,
    lease_token  TEXT,
    lease_owner  TEXT,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs(state, run_after);
CREATE INDEX jobs_lease ON jobs(state, lease_until);

CREATE TABLE idempotency_keys (
    scope          TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    outcomes       TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
