//! The job queue on PostgreSQL: a claim picks due rows with `FOR UPDATE
//! SKIP LOCKED`, leases them and commits before any handler runs, so
//! workers in any number of processes never hold the same job at once.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::domain::JobId;
use crate::pipeline::ports::{StoreError, StoreResult};
use crate::pipeline::queue::{Job, JobKind, JobOutcome, JobResult, JobState};

use super::rows::{opt_ts_at, ts_at, u32_at};

macro_rules! job_columns {
    () => {
        "id, kind, payload::text, state, attempts, max_attempts, run_after, lease_until, lease_token, last_error, created_at, updated_at"
    };
}

pub fn job_from_row(r: &PgRow) -> anyhow::Result<Job> {
    let kind: String = r.try_get(1)?;
    let payload: String = r.try_get(2)?;
    let state: String = r.try_get(3)?;
    Ok(Job {
        id: JobId::from_uuid(r.try_get(0)?),
        kind: JobKind::parse(&kind).map_err(|e| anyhow::anyhow!("{e}"))?,
        payload: serde_json::from_str(&payload)?,
        state: JobState::parse(&state).map_err(|e| anyhow::anyhow!("{e}"))?,
        attempts: u32_at(r, 4)?,
        max_attempts: u32_at(r, 5)?,
        run_after: ts_at(r, 6)?,
        lease_until: opt_ts_at(r, 7)?,
        lease_token: r.try_get(8)?,
        last_error: r.try_get(9)?,
        created_at: ts_at(r, 10)?,
        updated_at: ts_at(r, 11)?,
    })
}

/// Runs inside the caller's transaction, which commits before returning.
pub async fn claim(
    conn: &mut PgConnection,
    worker: &str,
    limit: usize,
    lease_us: i64,
    now: i64,
) -> anyhow::Result<Vec<Job>> {
    // An expired lease on the last attempt means the job keeps killing or
    // hanging its worker: dead-letter it instead of handing it out again.
    sqlx::query(
        "UPDATE jobs SET state = 'dead', lease_until = NULL, lease_token = NULL, updated_at = $1,
            last_error = 'lease expired on the last attempt: the worker stopped or hung without finishing'
         WHERE id IN (
            SELECT id FROM jobs
            WHERE state = 'running' AND lease_until < $1 AND attempts >= max_attempts
            FOR UPDATE SKIP LOCKED)",
    )
    .bind(now)
    .execute(&mut *conn)
    .await?;
    // SET expressions read the row as it was, so the CASE sees the old state.
    let rows = sqlx::query(concat!(
        "UPDATE jobs SET
            last_error = CASE WHEN jobs.state = 'running'
                THEN 'lease expired: the previous worker stopped without finishing' ELSE jobs.last_error END,
            state = 'running', attempts = jobs.attempts + 1, lease_until = $2, lease_token = $3,
            lease_owner = $4, updated_at = $1
         FROM (
            SELECT id FROM jobs
            WHERE (state = 'queued' AND run_after <= $1)
               OR (state = 'running' AND lease_until < $1 AND attempts < max_attempts)
            ORDER BY run_after LIMIT $5
            FOR UPDATE SKIP LOCKED) picked
         WHERE jobs.id = picked.id
         RETURNING jobs.",
        "id, jobs.kind, jobs.payload::text, jobs.state, jobs.attempts, jobs.max_attempts, jobs.run_after, jobs.lease_until, jobs.lease_token, jobs.last_error, jobs.created_at, jobs.updated_at"
    ))
    .bind(now)
    .bind(now + lease_us)
    .bind(uuid::Uuid::now_v7())
    .bind(worker)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&mut *conn)
    .await?;
    let mut jobs = rows
        .iter()
        .map(job_from_row)
        .collect::<anyhow::Result<Vec<_>>>()?;
    jobs.sort_by_key(|j| j.run_after);
    Ok(jobs)
}

pub async fn finish(
    conn: &mut PgConnection,
    outcomes: &[JobOutcome],
    now: i64,
) -> anyhow::Result<()> {
    for o in outcomes {
        let (id, token) = (o.id.as_uuid(), o.lease_token);
        let changed = match &o.result {
            JobResult::Done => sqlx::query(
                "UPDATE jobs SET state = 'done', lease_until = NULL, lease_token = NULL, updated_at = $3
                 WHERE id = $1 AND lease_token = $2 AND state = 'running'",
            )
            .bind(id)
            .bind(token)
            .bind(now)
            .execute(&mut *conn)
            .await?,
            JobResult::Retry { error, run_after } => sqlx::query(
                "UPDATE jobs SET state = 'queued', lease_until = NULL, lease_token = NULL,
                    last_error = $3, run_after = $4, updated_at = $5
                 WHERE id = $1 AND lease_token = $2 AND state = 'running'",
            )
            .bind(id)
            .bind(token)
            .bind(error)
            .bind(run_after.unix_micros())
            .bind(now)
            .execute(&mut *conn)
            .await?,
            JobResult::Dead { error } => sqlx::query(
                "UPDATE jobs SET state = 'dead', lease_until = NULL, lease_token = NULL,
                    last_error = $3, updated_at = $4
                 WHERE id = $1 AND lease_token = $2 AND state = 'running'",
            )
            .bind(id)
            .bind(token)
            .bind(error)
            .bind(now)
            .execute(&mut *conn)
            .await?,
        }
        .rows_affected();
        if changed == 0 {
            tracing::warn!(job_id = %o.id, "job outcome ignored: the lease was lost to another worker");
        }
    }
    Ok(())
}

pub async fn release(
    conn: &mut PgConnection,
    leases: &[(JobId, uuid::Uuid)],
    now: i64,
) -> anyhow::Result<()> {
    for (id, token) in leases {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = greatest(attempts - 1, 0), lease_until = NULL,
                lease_token = NULL, run_after = $3, updated_at = $3
             WHERE id = $1 AND lease_token = $2 AND state = 'running'",
        )
        .bind(id.as_uuid())
        .bind(token)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn extend(
    conn: &mut PgConnection,
    leases: &[(JobId, uuid::Uuid)],
    until: i64,
    now: i64,
) -> anyhow::Result<usize> {
    let mut n = 0;
    for (id, token) in leases {
        n += sqlx::query(
            "UPDATE jobs SET lease_until = $3, updated_at = $4
             WHERE id = $1 AND lease_token = $2 AND state = 'running'",
        )
        .bind(id.as_uuid())
        .bind(token)
        .bind(until)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected() as usize;
    }
    Ok(n)
}

pub async fn list(
    conn: &mut PgConnection,
    state: Option<JobState>,
    limit: usize,
) -> anyhow::Result<Vec<Job>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        job_columns!(),
        " FROM jobs WHERE ($1::text IS NULL OR state = $1) ORDER BY updated_at DESC LIMIT $2"
    ))
    .bind(state.map(|s| s.as_str()))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(job_from_row).collect()
}

pub async fn get(conn: &mut PgConnection, id: JobId) -> anyhow::Result<Option<Job>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        job_columns!(),
        " FROM jobs WHERE id = $1"
    ))
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(job_from_row).transpose()
}

pub async fn retry(conn: &mut PgConnection, id: JobId, actor: &str, now: i64) -> StoreResult<Job> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1 FOR UPDATE")
            .bind(id.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .map_err(anyhow::Error::from)?;
    match state.as_deref() {
        None => return Err(StoreError::NotFound(format!("job {id}"))),
        Some("dead") => {}
        Some(s) => {
            return Err(StoreError::Conflict(format!(
                "job {id} is {s}; only dead jobs can be retried"
            )));
        }
    }
    sqlx::query("UPDATE jobs SET state = 'queued', attempts = 0, run_after = $2, updated_at = $2 WHERE id = $1")
        .bind(id.as_uuid())
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(anyhow::Error::from)?;
    super::audit::record(
        conn,
        "job",
        &id.to_string(),
        "retry",
        actor,
        Some("dead"),
        Some("queued"),
        None,
        now,
    )
    .await?;
    get(conn, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("job {id}")))
}

pub async fn counts(conn: &mut PgConnection) -> anyhow::Result<Vec<(JobState, u64)>> {
    super::rows::counts_by_state(
        conn,
        "SELECT state, count(*) FROM jobs GROUP BY state",
        &JobState::ALL,
        |s| JobState::parse(s).ok(),
    )
    .await
}
