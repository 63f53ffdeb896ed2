//! Storing one request row by row: its events and messages, with their
//! jobs and idempotency record, in the caller's transaction.

use anyhow::Context;
use sqlx::{PgConnection, Row};

use crate::domain::{NewEvent, NewMessage};
use crate::pipeline::queue::NewJob;
use crate::pipeline::records::{IngestItem, IngestRequest, IngestResult, ItemOutcome, Record};

use super::identity;

pub async fn request(
    conn: &mut PgConnection,
    req: IngestRequest,
    now: i64,
) -> anyhow::Result<IngestResult> {
    if let Some(key) = &req.idempotency {
        let seen = sqlx::query(
            "SELECT request_digest, outcomes FROM idempotency_keys WHERE scope = $1 AND key = $2",
        )
        .bind(key.scope)
        .bind(&key.key)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = seen {
            let digest: String = row.try_get(0)?;
            if digest != key.request_digest {
                return Ok(IngestResult::KeyReused);
            }
            let outcomes: String = row.try_get(1)?;
            let outcomes: Vec<ItemOutcome> =
                serde_json::from_str(&outcomes).context("stored idempotent outcomes")?;
            return Ok(IngestResult::Replayed(outcomes));
        }
    }
    let mut outcomes = Vec::with_capacity(req.items.len());
    for item in req.items {
        outcomes.push(match item {
            Err(errors) => ItemOutcome::Rejected { errors },
            Ok(item) => store_item(conn, item, now).await?,
        });
    }
    if let Some(key) = &req.idempotency {
        sqlx::query(
            "INSERT INTO idempotency_keys (scope, key, request_digest, outcomes, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(key.scope)
        .bind(&key.key)
        .bind(&key.request_digest)
        .bind(serde_json::to_string(&outcomes)?)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(IngestResult::Fresh(outcomes))
}

async fn store_item(
    conn: &mut PgConnection,
    item: IngestItem,
    now: i64,
) -> anyhow::Result<ItemOutcome> {
    match item.record {
        Record::Event(e) => store_event(conn, item.id, e, &item.jobs, now).await,
        Record::Message(m) => store_message(conn, item.id, m, &item.jobs, now).await,
    }
}

/// The jobs of one item as parallel arrays for `unnest`.
struct JobArrays {
    ids: Vec<uuid::Uuid>,
    kinds: Vec<&'static str>,
    payloads: Vec<String>,
    max_attempts: Vec<i64>,
    run_after: Vec<i64>,
}

fn job_arrays(jobs: &[NewJob]) -> JobArrays {
    JobArrays {
        ids: jobs.iter().map(|j| j.id.as_uuid()).collect(),
        kinds: jobs.iter().map(|j| j.kind.as_str()).collect(),
        payloads: jobs.iter().map(|j| j.payload.to_string()).collect(),
        max_attempts: jobs.iter().map(|j| i64::from(j.max_attempts)).collect(),
        run_after: jobs.iter().map(|j| j.run_after.unix_micros()).collect(),
    }
}

async fn store_event(
    conn: &mut PgConnection,
    id: uuid::Uuid,
    e: NewEvent,
    jobs: &[NewJob],
    now: i64,
) -> anyhow::Result<ItemOutcome> {
    let digest = e.content_digest();
    if let Some(source) = &e.source_id {
        let seen = sqlx::query("SELECT id, customer_id, digest FROM events WHERE source_id = $1")
            .bind(source.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(row) = seen {
            let old_id: uuid::Uuid = row.try_get(0)?;
            let customer: uuid::Uuid = row.try_get(1)?;
            let old_digest: String = row.try_get(2)?;
            return Ok(ItemOutcome::repeat(
                old_id,
                customer,
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
    let plan = identity::plan(conn, &e.customer).await?;
    let customer = identity::apply(conn, &plan, None, now).await?;
    let source = format!(
        "event {}",
        e.source_id
            .as_ref()
            .map_or_else(|| id.to_string(), |s| s.to_string())
    );
    let warnings =
        identity::record_conflicts(conn, Some(customer), &plan.conflicts, &source, now).await?;
    let j = job_arrays(jobs);
    // The event, its customer's counters and its jobs in one round trip.
    sqlx::query(
        "WITH e AS (
            INSERT INTO events (id, source_id, customer_id, kind, occurred_at, occurred_offset, amount_minor, currency, channel, properties, digest, received_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12)),
         s AS (
            UPDATE customer_stats SET events = events + 1,
                last_event_at = greatest(coalesce(last_event_at, $5), $5), updated_at = $12
            WHERE customer_id = $3)
         INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_after, created_at, updated_at)
         SELECT j.id, j.kind, j.payload::jsonb, 'queued', 0, j.max_attempts, j.run_after, $12, $12
         FROM unnest($13::uuid[], $14::text[], $15::text[], $16::int8[], $17::int8[])
              AS j(id, kind, payload, max_attempts, run_after)",
    )
    .bind(id)
    .bind(e.source_id.as_ref().map(|s| s.as_str()))
    .bind(customer.as_uuid())
    .bind(e.kind.as_str())
    .bind(e.occurred_at.unix_micros())
    .bind(e.occurred_at.offset_secs())
    .bind(e.amount.map(|m| m.minor))
    .bind(e.amount.map(|m| m.currency.to_string()))
    .bind(e.channel.as_str())
    .bind(serde_json::Value::Object(e.properties).to_string())
    .bind(&digest)
    .bind(now)
    .bind(&j.ids)
    .bind(&j.kinds)
    .bind(&j.payloads)
    .bind(&j.max_attempts)
    .bind(&j.run_after)
    .execute(&mut *conn)
    .await
    .context("storing an event")?;
    Ok(ItemOutcome::Stored {
        id,
        customer_id: customer.as_uuid(),
        warnings,
    })
}

async fn store_message(
    conn: &mut PgConnection,
    id: uuid::Uuid,
    m: NewMessage,
    jobs: &[NewJob],
    now: i64,
) -> anyhow::Result<ItemOutcome> {
    let digest = m.content_digest();
    if let Some(ext) = &m.external_id {
        let seen = sqlx::query(
            "SELECT id, customer_id, digest FROM messages WHERE channel = $1 AND external_id = $2",
        )
        .bind(m.channel.as_str())
        .bind(ext)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = seen {
            let old_id: uuid::Uuid = row.try_get(0)?;
            let customer: uuid::Uuid = row.try_get(1)?;
            let old_digest: String = row.try_get(2)?;
            return Ok(ItemOutcome::repeat(
                old_id,
                customer,
                old_digest == digest,
                "external_id",
                || format!("{ext} already belongs to a different {} message", m.channel),
            ));
        }
    }
    let plan = identity::plan(conn, &m.customer).await?;
    let customer = identity::apply(conn, &plan, None, now).await?;
    let warnings = identity::record_conflicts(
        conn,
        Some(customer),
        &plan.conflicts,
        &format!("{} message {id}", m.channel),
        now,
    )
    .await?;
    let at = m.received_at.unix_micros();
    let j = job_arrays(jobs);
    // Conversation, message, counters and jobs in one round trip.
    sqlx::query(
        "WITH conv AS (
            INSERT INTO conversations (id, customer_id, channel, thread, status, created_at, last_message_at)
            VALUES ($2, $3, $4, $5, 'open', $11, $10)
            ON CONFLICT (customer_id, channel, thread) DO UPDATE
              SET last_message_at = greatest(conversations.last_message_at, excluded.last_message_at),
                  status = CASE WHEN conversations.status = 'closed' THEN 'open' ELSE conversations.status END
            RETURNING id),
         msg AS (
            INSERT INTO messages (id, customer_id, conversation_id, channel, direction, external_id, subject, body, digest, at, received_at)
            SELECT $1, $3, conv.id, $4, 'in', $6, $7, $8, $9, $10, $11 FROM conv),
         s AS (
            UPDATE customer_stats SET messages = messages + 1,
                last_event_at = greatest(coalesce(last_event_at, $10), $10), updated_at = $11
            WHERE customer_id = $3)
         INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_after, created_at, updated_at)
         SELECT j.id, j.kind, j.payload::jsonb, 'queued', 0, j.max_attempts, j.run_after, $11, $11
         FROM unnest($12::uuid[], $13::text[], $14::text[], $15::int8[], $16::int8[])
              AS j(id, kind, payload, max_attempts, run_after)",
    )
    .bind(id)
    .bind(uuid::Uuid::now_v7())
    .bind(customer.as_uuid())
    .bind(m.channel.as_str())
    .bind(&m.thread)
    .bind(&m.external_id)
    .bind(&m.subject)
    .bind(m.text.as_str())
    .bind(&digest)
    .bind(at)
    .bind(now)
    .bind(&j.ids)
    .bind(&j.kinds)
    .bind(&j.payloads)
    .bind(&j.max_attempts)
    .bind(&j.run_after)
    .execute(&mut *conn)
    .await
    .context("storing a message")?;
    Ok(ItemOutcome::Stored {
        id,
        customer_id: customer.as_uuid(),
        warnings,
    })
}

pub async fn insert_jobs(conn: &mut PgConnection, jobs: &[NewJob], now: i64) -> anyhow::Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let j = job_arrays(jobs);
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_after, created_at, updated_at)
         SELECT j.id, j.kind, j.payload::jsonb, 'queued', 0, j.max_attempts, j.run_after, $1, $1
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int8[], $6::int8[])
              AS j(id, kind, payload, max_attempts, run_after)",
    )
    .bind(now)
    .bind(&j.ids)
    .bind(&j.kinds)
    .bind(&j.payloads)
    .bind(&j.max_attempts)
    .bind(&j.run_after)
    .execute(&mut *conn)
    .await
    .context("inserting jobs")?;
    Ok(())
}
