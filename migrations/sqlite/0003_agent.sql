-- The agent's results: each inbound message's analysis, each draft's
-- provenance (analysis, citations, offer, who wrote it, guardrail results,
-- routing), and offer assignments for measuring uplift against a holdout.

ALTER TABLE messages ADD COLUMN analysis TEXT;
ALTER TABLE drafts ADD COLUMN meta TEXT;

CREATE TABLE offer_assignments (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    experiment  TEXT NOT NULL,
    variant     TEXT NOT NULL,
    offer_id    TEXT,
    holdout     INTEGER NOT NULL,
    priced      INTEGER NOT NULL,
    draft_id    TEXT REFERENCES drafts(id),
    message_id  TEXT REFERENCES messages(id),
    at          INTEGER NOT NULL
);
CREATE INDEX offer_assignments_customer ON offer_assignments(customer_id, at);
