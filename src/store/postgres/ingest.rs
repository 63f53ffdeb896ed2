//! Storing events and messages, with their jobs and idempotency record, in
//! one transaction per batch. Each request runs under a savepoint, so a
//! request that fails is undone alone; one that lost a race with another
//! transaction (unique key, deadlock) is rolled back and run again.

use anyhow::Context;
use sqlx::{PgConnection, PgPool, Row};

use crate::domain::{ConflictReason, Match, NewEvent, NewMessage, NewProfile, Timestamp};
use crate::pipeline::queue::NewJob;
use crate::pipeline::records::{
    IngestItem, IngestRequest, IngestResult, ItemOutcome, ProfileOutcome, Record,
};

use super::rows::is_retryable;
use super::{bulk, identity};

/// Attempts per request before a lost race is reported as an error.
const ATTEMPTS: usize = 5;

/// Ingest batches (and profile imports) on one database take turns, as
/// SQLite's single writer makes them: batches that create and bump the
/// same customers in different orders would otherwise deadlock, and each
/// deadlock costs a second of `deadlock_timeout`. Group commit keeps the
/// throughput: while one batch commits, the next one grows.
const INGEST_LOCK: i64 = 0x686f_6c64_0000_0001;

async fn take_turn(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(INGEST_LOCK)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Runs `requests` in one transaction (group commit). Results are in
/// request order; the first failed request fails the call, as on SQLite,
/// but the others are committed all the same.
pub async fn batch(
    pool: &PgPool,
    requests: Vec<IngestRequest>,
) -> anyhow::Result<Vec<anyhow::Result<IngestResult>>> {
    if bulk::eligible(&requests) {
        for attempt in 1..=ATTEMPTS {
            let mut tx = pool.begin().await.context("beginning an ingest batch")?;
            take_turn(&mut tx).await?;
            let now = Timestamp::now().unix_micros();
            let outcome = match bulk::run(&mut tx, &requests, now).await {
                Ok(results) => tx
                    .commit()
                    .await
                    .map(|()| results)
                    .map_err(anyhow::Error::from),
                Err(e) => {
                    tx.rollback().await.ok();
                    Err(e)
                }
            };
            match outcome {
                Ok(results) => return Ok(results.into_iter().map(Ok).collect()),
                // Lost a race with another batch, which has committed or
                // been chosen to go on: the rerun reads what it wrote.
                Err(e) if attempt < ATTEMPTS && is_retryable(&e) => {
                    tracing::debug!(error = %e, attempt, "bulk ingest lost a race; retrying");
                }
                Err(e) => {
                    tracing::debug!(error = %e, "bulk ingest failed; going row by row");
                    break;
                }
            }
        }
    }
    rows(pool, requests).await
}

/// Why a row-by-row run stopped early.
enum Restart {
    /// A deadlock or serialization failure: the whole transaction goes,
    /// releasing every lock, and runs again.
    Race(anyhow::Error),
    Failed(anyhow::Error),
}

/// The row-by-row path: each request under its own savepoint.
pub(super) async fn rows(
    pool: &PgPool,
    requests: Vec<IngestRequest>,
) -> anyhow::Result<Vec<anyhow::Result<IngestResult>>> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match rows_once(pool, &requests).await {
            Ok(out) => return Ok(out),
            Err(Restart::Race(e)) if attempt < ATTEMPTS => {
                tracing::debug!(error = %e, attempt, "ingest batch deadlocked; running it again");
            }
            Err(Restart::Race(e) | Restart::Failed(e)) => return Err(e),
        }
    }
}

fn deadlock(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .and_then(|se| se.as_database_error())
            .and_then(|d| d.code())
            .is_some_and(|c| c == "40P01" || c == "40001")
    })
}

async fn rows_once(
    pool: &PgPool,
    requests: &[IngestRequest],
) -> Result<Vec<anyhow::Result<IngestResult>>, Restart> {
    let failed = |e: sqlx::Error| Restart::Failed(e.into());
    let mut tx = pool.begin().await.map_err(failed)?;
    take_turn(&mut tx).await.map_err(failed)?;
    let mut out = Vec::with_capacity(requests.len());
    let mut open = false;
    for req in requests {
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            // One round trip ends the previous request's savepoint and
            // opens this one's.
            let sp = if open {
                "RELEASE SAVEPOINT req; SAVEPOINT req"
            } else {
                "SAVEPOINT req"
            };
            sqlx::raw_sql(sp).execute(&mut *tx).await.map_err(failed)?;
            open = true;
            let now = Timestamp::now().unix_micros();
            match request(&mut tx, req.clone(), now).await {
                Ok(r) => break Ok(r),
                Err(e) if deadlock(&e) => return Err(Restart::Race(e)),
                Err(e) => {
                    sqlx::raw_sql("ROLLBACK TO SAVEPOINT req")
                        .execute(&mut *tx)
                        .await
                        .map_err(failed)?;
                    // A unique key another transaction committed first:
                    // the rerun finds its row.
                    if attempt < ATTEMPTS && is_retryable(&e) {
                        tracing::debug!(error = %e, attempt, "ingest request lost a race; retrying");
                        continue;
                    }
                    break Err(e);
                }
            }
        };
        out.push(result);
    }
    tx.commit().await.map_err(|e| {
        let e = anyhow::Error::from(e).context("committing an ingest batch");
        if deadlock(&e) {
            Restart::Race(e)
        } else {
            Restart::Failed(e)
        }
    })?;
    Ok(out)
}

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

/// Imports a batch of profiles in one transaction, each under a savepoint.
pub async fn profiles(
    pool: &PgPool,
    profiles: Vec<(NewProfile, String)>,
) -> anyhow::Result<Vec<anyhow::Result<ProfileOutcome>>> {
    let mut tx = pool.begin().await.context("beginning a profile import")?;
    take_turn(&mut tx).await?;
    let mut out = Vec::with_capacity(profiles.len());
    for (p, source) in profiles {
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            sqlx::raw_sql("SAVEPOINT prof").execute(&mut *tx).await?;
            let now = Timestamp::now().unix_micros();
            match profile(&mut tx, p.clone(), &source, now).await {
                Ok(r) => {
                    sqlx::raw_sql("RELEASE SAVEPOINT prof")
                        .execute(&mut *tx)
                        .await?;
                    break Ok(r);
                }
                Err(e) => {
                    sqlx::raw_sql("ROLLBACK TO SAVEPOINT prof; RELEASE SAVEPOINT prof")
                        .execute(&mut *tx)
                        .await?;
                    if attempt < ATTEMPTS && is_retryable(&e) {
                        continue;
                    }
                    break Err(e);
                }
            }
        };
        out.push(result);
    }
    tx.commit().await.context("committing a profile import")?;
    Ok(out)
}

async fn profile(
    conn: &mut PgConnection,
    p: NewProfile,
    source: &str,
    now: i64,
) -> anyhow::Result<ProfileOutcome> {
    let plan = identity::plan(conn, &p.identity).await?;
    // A profile that contradicts what is known about its own customer is
    // rejected; an identifier that belongs to someone else is left off and
    // recorded, and the rest of the profile imports.
    let contradicts = plan
        .conflicts
        .iter()
        .any(|c| matches!(c.reason, ConflictReason::CustomerHasOther(_)));
    if contradicts {
        let customer = match plan.customer {
            Match::Existing(c) => Some(c),
            Match::New => None,
        };
        identity::record_conflicts(conn, customer, &plan.conflicts, source, now).await?;
        return Ok(ProfileOutcome::Conflict(plan.conflicts));
    }
    let customer = identity::apply(conn, &plan, p.name.as_deref(), now).await?;
    let warnings =
        identity::record_conflicts(conn, Some(customer), &plan.conflicts, source, now).await?;
    if let Match::New = plan.customer {
        return Ok(ProfileOutcome::Created { customer, warnings });
    }
    let renamed = match &p.name {
        Some(name) => sqlx::query(
            "UPDATE customers SET name = $2, updated_at = $3 WHERE id = $1 AND name IS DISTINCT FROM $2",
        )
        .bind(customer.as_uuid())
        .bind(name)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected(),
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
