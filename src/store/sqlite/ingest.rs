//! Storing events and messages, with their jobs and idempotency record, in
//! the writer's transaction.

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::{CustomerId, NewEvent, NewMessage, NewProfile};
use crate::pipeline::queue::NewJob;
use crate::pipeline::records::{
    IngestItem, IngestRequest, IngestResult, ItemOutcome, ProfileOutcome, Record,
};

use super::identity;

pub fn request(conn: &Connection, req: IngestRequest, now: i64) -> anyhow::Result<IngestResult> {
    if let Some(key) = &req.idempotency {
        let seen: Option<(String, String)> = conn
            .prepare_cached(
                "SELECT request_digest, outcomes FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
            )?
            .query_row(params![key.scope, key.key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((digest, outcomes)) = seen {
            if digest != key.request_digest {
                return Ok(IngestResult::KeyReused);
            }
            let outcomes: Vec<ItemOutcome> =
                serde_json::from_str(&outcomes).context("stored idempotent outcomes")?;
            return Ok(IngestResult::Replayed(outcomes));
        }
    }
    let mut outcomes = Vec::with_capacity(req.items.len());
    for item in req.items {
        outcomes.push(match item {
            Err(errors) => ItemOutcome::Rejected { errors },
            Ok(item) => store_item(conn, item, now)?,
        });
    }
    if let Some(key) = &req.idempotency {
        conn.prepare_cached(
            "INSERT INTO idempotency_keys (scope, key, request_digest, outcomes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            key.scope,
            key.key,
            key.request_digest,
            serde_json::to_string(&outcomes)?,
            now
        ])?;
    }
    Ok(IngestResult::Fresh(outcomes))
}

fn store_item(conn: &Connection, item: IngestItem, now: i64) -> anyhow::Result<ItemOutcome> {
    match item.record {
        Record::Event(e) => store_event(conn, item.id, e, &item.jobs, now),
        Record::Message(m) => store_message(conn, item.id, m, &item.jobs, now),
    }
}

fn store_event(
    conn: &Connection,
    id: uuid::Uuid,
    e: NewEvent,
    jobs: &[NewJob],
    now: i64,
) -> anyhow::Result<ItemOutcome> {
    let digest = e.content_digest();
    if let Some(source) = &e.source_id {
        let seen: Option<(String, String, String)> = conn
            .prepare_cached("SELECT id, customer_id, digest FROM events WHERE source_id = ?1")?
            .query_row([source.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        if let Some((old_id, customer, old_digest)) = seen {
            return Ok(ItemOutcome::repeat(
                old_id.parse()?,
                customer.parse()?,
                old_digest == digest,
                "event_id",
                || {
                    format!(
                        "{source} already belongs to a different event (stored as {old_id}); a conflicting duplicate is not stored"
                    )
                },
            ));
        }
    }
    let plan = identity::plan(conn, &e.customer)?;
    let customer = identity::apply(conn, &plan, None, now)?;
    let source = format!(
        "event {}",
        e.source_id
            .as_ref()
            .map_or_else(|| id.to_string(), |s| s.to_string())
    );
    let warnings = identity::record_conflicts(conn, Some(customer), &plan.conflicts, &source, now)?;
    conn.prepare_cached(
        "INSERT INTO events (id, source_id, customer_id, kind, occurred_at, occurred_offset, amount_minor, currency, channel, properties, digest, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        id.to_string(),
        e.source_id.as_ref().map(|s| s.as_str()),
        customer.to_string(),
        e.kind.as_str(),
        e.occurred_at.unix_micros(),
        e.occurred_at.offset_secs(),
        e.amount.map(|m| m.minor),
        e.amount.map(|m| m.currency.to_string()),
        e.channel.as_str(),
        serde_json::Value::Object(e.properties).to_string(),
        digest,
        now
    ])?;
    bump_stats(conn, customer, "events", e.occurred_at.unix_micros(), now)?;
    insert_jobs(conn, jobs, now)?;
    Ok(ItemOutcome::Stored {
        id,
        customer_id: customer.as_uuid(),
        warnings,
    })
}

fn store_message(
    conn: &Connection,
    id: uuid::Uuid,
    m: NewMessage,
    jobs: &[NewJob],
    now: i64,
) -> anyhow::Result<ItemOutcome> {
    let digest = m.content_digest();
    if let Some(ext) = &m.external_id {
        let seen: Option<(String, String, String)> = conn
            .prepare_cached(
                "SELECT id, customer_id, digest FROM messages WHERE channel = ?1 AND external_id = ?2",
            )?
            .query_row(params![m.channel.as_str(), ext], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        if let Some((old_id, customer, old_digest)) = seen {
            return Ok(ItemOutcome::repeat(
                old_id.parse()?,
                customer.parse()?,
                old_digest == digest,
                "external_id",
                || format!("{ext} already belongs to a different {} message", m.channel),
            ));
        }
    }
    let plan = identity::plan(conn, &m.customer)?;
    let customer = identity::apply(conn, &plan, None, now)?;
    let warnings = identity::record_conflicts(
        conn,
        Some(customer),
        &plan.conflicts,
        &format!("{} message {id}", m.channel),
        now,
    )?;
    let at = m.received_at.unix_micros();
    let conversation: String = conn
        .prepare_cached(
            "INSERT INTO conversations (id, customer_id, channel, thread, status, created_at, last_message_at)
             VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6)
             ON CONFLICT (customer_id, channel, thread) DO UPDATE
               SET last_message_at = max(last_message_at, excluded.last_message_at),
                   status = CASE WHEN status = 'closed' THEN 'open' ELSE status END
             RETURNING id",
        )?
        .query_row(
            params![
                uuid::Uuid::now_v7().to_string(),
                customer.to_string(),
                m.channel.as_str(),
                m.thread,
                now,
                at
            ],
            |r| r.get(0),
        )?;
    conn.prepare_cached(
        "INSERT INTO messages (id, customer_id, conversation_id, channel, direction, external_id, subject, body, digest, at, received_at)
         VALUES (?1, ?2, ?3, ?4, 'in', ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        id.to_string(),
        customer.to_string(),
        conversation,
        m.channel.as_str(),
        m.external_id,
        m.subject,
        m.text.as_str(),
        digest,
        at,
        now
    ])?;
    bump_stats(conn, customer, "messages", at, now)?;
    insert_jobs(conn, jobs, now)?;
    Ok(ItemOutcome::Stored {
        id,
        customer_id: customer.as_uuid(),
        warnings,
    })
}

/// Counters that are cheap to keep exact at ingest time.
fn bump_stats(
    conn: &Connection,
    customer: CustomerId,
    counter: &str,
    at: i64,
    now: i64,
) -> anyhow::Result<()> {
    let sql = match counter {
        "events" => {
            "UPDATE customer_stats SET events = events + 1,
               last_event_at = max(coalesce(last_event_at, ?2), ?2), updated_at = ?3
             WHERE customer_id = ?1"
        }
        _ => {
            "UPDATE customer_stats SET messages = messages + 1,
               last_event_at = max(coalesce(last_event_at, ?2), ?2), updated_at = ?3
             WHERE customer_id = ?1"
        }
    };
    conn.prepare_cached(sql)?
        .execute(params![customer.to_string(), at, now])?;
    Ok(())
}

pub fn insert_jobs(conn: &Connection, jobs: &[NewJob], now: i64) -> anyhow::Result<()> {
    let mut ins = conn.prepare_cached(
        "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_after, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'queued', 0, ?4, ?5, ?6, ?6)",
    )?;
    for j in jobs {
        ins.execute(params![
            j.id.to_string(),
            j.kind.as_str(),
            j.payload.to_string(),
            j.max_attempts,
            j.run_after.unix_micros(),
            now
        ])?;
    }
    Ok(())
}

pub fn profile(
    conn: &Connection,
    p: NewProfile,
    source: &str,
    now: i64,
) -> anyhow::Result<ProfileOutcome> {
    let plan = identity::plan(conn, &p.identity)?;
    // A profile that contradicts what is known about its own customer is
    // rejected; an identifier that belongs to someone else is left off and
    // recorded, and the rest of the profile imports.
    let contradicts = plan
        .conflicts
        .iter()
        .any(|c| matches!(c.reason, crate::domain::ConflictReason::CustomerHasOther(_)));
    if contradicts {
        let customer = match plan.customer {
            crate::domain::Match::Existing(c) => Some(c),
            crate::domain::Match::New => None,
        };
        identity::record_conflicts(conn, customer, &plan.conflicts, source, now)?;
        return Ok(ProfileOutcome::Conflict(plan.conflicts));
    }
    let customer = identity::apply(conn, &plan, p.name.as_deref(), now)?;
    let warnings = identity::record_conflicts(conn, Some(customer), &plan.conflicts, source, now)?;
    if let crate::domain::Match::New = plan.customer {
        return Ok(ProfileOutcome::Created { customer, warnings });
    }
    let renamed = match &p.name {
        Some(name) => conn
            .prepare_cached(
                "UPDATE customers SET name = ?2, updated_at = ?3 WHERE id = ?1 AND name IS NOT ?2",
            )?
            .execute(params![customer.to_string(), name, now])?,
        None => 0,
    };
    Ok(
        if plan.attach.is_empty() && renamed == 0 && warnings.is_empty() {
            ProfileOutcome::Unchanged(customer)
        } else {
            ProfileOutcome::Updated { customer, warnings }
        },
    )
}
