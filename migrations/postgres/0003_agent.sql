-- The agent's results: each inbound message's analysis, each draft's
-- provenance (analysis, citations, offer, who wrote it, guardrail results,
-- routing), and offer assignments for measuring uplift against a holdout.

ALTER TABLE messages ADD COLUMN analysis JSONB;
ALTER TABLE drafts ADD COLUMN meta JSONB;

CREATE TABLE offer_assignments (
    id          UUID PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers(id),
    experiment  TEXT NOT NULL,
    variant     TEXT NOT NULL,
    offer_id    TEXT,
    holdout     BOOLEAN NOT NULL,
    priced      BOOLEAN NOT NULL,
    draft_id    UUID REFERENCES drafts(id),
    message_id  UUID REFERENCES messages(id),
    at          BIGINT NOT NULL
);
CREATE INDEX offer_assignments_customer ON offer_assignments(customer_id, at);
