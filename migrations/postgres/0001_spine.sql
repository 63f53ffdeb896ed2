-- The spine: customers and their identifiers, events, conversations and
-- messages, drafts with their audit trail, the outbox and the job queue.
-- Times are microseconds since the Unix epoch (BIGINT); ids are UUID.

CREATE TABLE customers (
    id          UUID PRIMARY KEY,
    name        TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    merged_into UUID REFERENCES customers(id)
);

-- One owner per identifier. Matching treats a second value of a kind as a
-- conflict; only a merge gives a customer several (the merged one's stay
-- as aliases so that later input still finds the survivor). `seq` keeps
-- insertion order (SQLite's rowid), which decides the primary value of a kind.
CREATE TABLE customer_identifiers (
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    customer_id UUID NOT NULL REFERENCES customers(id),
    created_at  BIGINT NOT NULL,
    seq         BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (kind, value)
);
CREATE INDEX customer_identifiers_customer ON customer_identifiers(customer_id, kind);

CREATE TABLE identity_conflicts (
    id                UUID PRIMARY KEY,
    customer_id       UUID REFERENCES customers(id),
    other_customer_id UUID REFERENCES customers(id),
    kind              TEXT NOT NULL,
    value             TEXT NOT NULL,
    existing_value    TEXT,
    source            TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    resolved_at       BIGINT
);
CREATE INDEX identity_conflicts_customer ON identity_conflicts(customer_id);
CREATE INDEX identity_conflicts_other ON identity_conflicts(other_customer_id);

CREATE TABLE customer_stats (
    customer_id    UUID PRIMARY KEY REFERENCES customers(id),
    orders         BIGINT NOT NULL DEFAULT 0,
    revenue_minor  BIGINT NOT NULL DEFAULT 0,
    refunds_minor  BIGINT NOT NULL DEFAULT 0,
    first_order_at BIGINT,
    last_order_at  BIGINT,
    last_event_at  BIGINT,
    subscription   TEXT NOT NULL DEFAULT 'none',
    events         BIGINT NOT NULL DEFAULT 0,
    messages       BIGINT NOT NULL DEFAULT 0,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE events (
    id              UUID PRIMARY KEY,
    source_id       TEXT UNIQUE,
    customer_id     UUID NOT NULL REFERENCES customers(id),
    kind            TEXT NOT NULL,
    occurred_at     BIGINT NOT NULL,
    occurred_offset INTEGER NOT NULL,
    amount_minor    BIGINT,
    currency        TEXT,
    channel         TEXT NOT NULL,
    properties      JSONB NOT NULL DEFAULT '{}',
    digest          TEXT NOT NULL,
    received_at     BIGINT NOT NULL
);
CREATE INDEX events_customer_time ON events(customer_id, occurred_at);

CREATE TABLE conversations (
    id              UUID PRIMARY KEY,
    customer_id     UUID NOT NULL REFERENCES customers(id),
    channel         TEXT NOT NULL,
    thread          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open',
    created_at      BIGINT NOT NULL,
    last_message_at BIGINT NOT NULL,
    UNIQUE (customer_id, channel, thread)
);

CREATE TABLE messages (
    id              UUID PRIMARY KEY,
    customer_id     UUID NOT NULL REFERENCES customers(id),
    conversation_id UUID NOT NULL REFERENCES conversations(id),
    channel         TEXT NOT NULL,
    direction       TEXT NOT NULL,
    external_id     TEXT,
    subject         TEXT,
    body            TEXT NOT NULL,
    digest          TEXT NOT NULL,
    at              BIGINT NOT NULL,
    received_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX messages_external ON messages(channel, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX messages_conversation ON messages(conversation_id, at);
CREATE INDEX messages_customer ON messages(customer_id, at);

CREATE TABLE drafts (
    id              UUID PRIMARY KEY,
    customer_id     UUID NOT NULL REFERENCES customers(id),
    conversation_id UUID NOT NULL REFERENCES conversations(id),
    in_reply_to     UUID REFERENCES messages(id),
    channel         TEXT NOT NULL,
    state           TEXT NOT NULL,
    body            TEXT NOT NULL,
    original_body   TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX drafts_state ON drafts(state, created_at);

CREATE TABLE audit_log (
    id         UUID PRIMARY KEY,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    action     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT,
    detail     TEXT,
    at         BIGINT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id, at);

CREATE TABLE outbox (
    id                 UUID PRIMARY KEY,
    draft_id           UUID UNIQUE REFERENCES drafts(id),
    customer_id        UUID NOT NULL REFERENCES customers(id),
    conversation_id    UUID NOT NULL REFERENCES conversations(id),
    channel            TEXT NOT NULL,
    recipient          TEXT NOT NULL,
    subject            TEXT,
    body               TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL UNIQUE,
    state              TEXT NOT NULL,
    attempts           BIGINT NOT NULL DEFAULT 0,
    channel_message_id TEXT,
    last_error         TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    sent_at            BIGINT
);
CREATE INDEX outbox_state ON outbox(state);

CREATE TABLE jobs (
    id           UUID PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      JSONB NOT NULL,
    state        TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_after    BIGINT NOT NULL,
    lease_until  BIGINT,
    lease_token  UUID,
    lease_owner  TEXT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(state, run_after);
CREATE INDEX jobs_lease ON jobs(state, lease_until);

CREATE TABLE idempotency_keys (
    scope          TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    outcomes       TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
