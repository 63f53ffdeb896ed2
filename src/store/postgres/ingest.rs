//! Group commit: a batch of ingest requests (or profiles) in one
//! transaction. Event-only batches take the bulk path; the rest, and any
//! batch the bulk path cannot store, go row by row with a savepoint per
//! request, so a request that fails is undone alone and one that lost a
//! race with another transaction (unique key) is rolled back and run again.

use anyhow::Context;
use sqlx::{Connection, PgConnection, PgPool};

use crate::domain::{ConflictReason, Match, NewProfile, Timestamp};
use crate::pipeline::records::{IngestRequest, IngestResult, ProfileOutcome};

use super::ingest_conns::IngestConnections;
use super::rows::is_retryable;
use super::{bulk, identity, records};

/// Attempts per request before a lost race is reported as an error.
const ATTEMPTS: usize = 5;

/// Row-by-row batches (and profile imports) on one database take turns, as
/// SQLite's single writer makes them: batches that create and bump the
/// same customers in different orders would otherwise deadlock, and each
/// deadlock costs a second of `deadlock_timeout`. Bulk batches share the
/// lock instead: they lock rows table by table in key order, so they
/// cannot deadlock with each other, and one runs while another waits for
/// its commit to reach the disk (a lost unique-key race reruns the batch).
/// The lock is taken in the round trip that begins the transaction.
const BEGIN_ALONE: &str = "BEGIN; SELECT pg_advisory_xact_lock(7525352679111917569)";
const BEGIN_SHARED: &str = "BEGIN; SELECT pg_advisory_xact_lock_shared(7525352679111917569)";

async fn begin(pool: &PgPool) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    pool.begin_with(BEGIN_ALONE).await
}

/// Runs `requests` in one transaction (group commit). Results are in
/// request order; the first failed request fails the call, as on SQLite,
/// but the others are committed all the same.
pub async fn batch(
    pool: &PgPool,
    conns: &IngestConnections,
    requests: Vec<IngestRequest>,
) -> anyhow::Result<Vec<anyhow::Result<IngestResult>>> {
    if bulk::eligible(&requests) {
        for attempt in 1..=ATTEMPTS {
            let mut conn = conns
                .take()
                .await
                .context("connecting for an ingest batch")?;
            let outcome = bulk_once(&mut conn, &requests).await;
            let healthy = outcome.as_ref().err().is_none_or(answered_by_database);
            conns.give_back(conn, healthy);
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

/// One run of the bulk path in its own transaction; acknowledged only
/// after COMMIT returned (`synchronous_commit` as configured: on).
async fn bulk_once(
    conn: &mut PgConnection,
    requests: &[IngestRequest],
) -> anyhow::Result<Vec<IngestResult>> {
    let mut tx = conn
        .begin_with(BEGIN_SHARED)
        .await
        .context("beginning an ingest batch")?;
    let now = Timestamp::now().unix_micros();
    match bulk::run(&mut tx, requests, now).await {
        Ok(results) => {
            tx.commit().await.context("committing an ingest batch")?;
            Ok(results)
        }
        Err(e) => match tx.rollback().await {
            Ok(()) => Err(e),
            Err(r) => Err(anyhow::Error::from(r).context(format!("rolling back after: {e:#}"))),
        },
    }
}

/// Whether an error was the database's answer to SQL (or ours), leaving
/// the connection usable; IO and protocol errors leave it in doubt.
fn answered_by_database(e: &anyhow::Error) -> bool {
    e.chain().all(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .is_none_or(|se| matches!(se, sqlx::Error::Database(_)))
    })
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
    let mut tx = begin(pool).await.map_err(failed)?;
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
            match records::request(&mut tx, req.clone(), now).await {
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

/// Imports a batch of profiles in one transaction, each under a savepoint.
pub async fn profiles(
    pool: &PgPool,
    profiles: Vec<(NewProfile, String)>,
) -> anyhow::Result<Vec<anyhow::Result<ProfileOutcome>>> {
    let mut tx = begin(pool).await.context("beginning a profile import")?;
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
