//! The job queue on SQLite: a claim is one UPDATE … RETURNING on the lease
//! columns, run by the single writer and committed before any handler runs.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::domain::JobId;
use crate::pipeline::ports::{StoreError, StoreResult};
use crate::pipeline::queue::{Job, JobKind, JobOutcome, JobResult, JobState};

use super::rows::{opt_ts_at, opt_uuid_at, ts_at, uuid_at};

pub const JOB_COLUMNS: &str = "id, kind, payload, state, attempts, max_attempts, run_after, lease_until, lease_token, last_error, created_at, updated_at";

pub fn job_from_row(r: &Row<'_>) -> anyhow::Result<Job> {
    let kind: String = r.get(1)?;
    let payload: String = r.get(2)?;
    let state: String = r.get(3)?;
    Ok(Job {
        id: JobId::from_uuid(uuid_at(r, 0)?),
        kind: JobKind::parse(&kind).map_err(|e| anyhow::anyhow!("{e}"))?,
        payload: serde_json::from_str(&payload)?,
        state: JobState::parse(&state).map_err(|e| anyhow::anyhow!("{e}"))?,
        attempts: r.get(4)?,
        max_attempts: r.get(5)?,
        run_after: ts_at(r, 6)?,
        lease_until: opt_ts_at(r, 7)?,
        lease_token: opt_uuid_at(r, 8)?,
        last_error: r.get(9)?,
        created_at: ts_at(r, 10)?,
        updated_at: ts_at(r, 11)?,
    })
}

pub fn claim(
    conn: &Connection,
    worker: &str,
    limit: usize,
    lease_us: i64,
    now: i64,
) -> anyhow::Result<Vec<Job>> {
    // An expired lease on the last attempt means the job keeps killing or
    // hanging its worker: dead-letter it instead of handing it out again.
    conn.prepare_cached(
        "UPDATE jobs SET state = 'dead', lease_until = NULL, lease_token = NULL, updated_at = ?1,
            last_error = 'lease expired on the last attempt: the worker stopped or hung without finishing'
         WHERE state = 'running' AND lease_until < ?1 AND attempts >= max_attempts",
    )?
    .execute([now])?;
    let token = uuid::Uuid::now_v7().to_string();
    let sql = format!(
        "UPDATE jobs SET
            last_error = CASE WHEN state = 'running'
                THEN 'lease expired: the previous worker stopped without finishing' ELSE last_error END,
            state = 'running', attempts = attempts + 1, lease_until = ?2, lease_token = ?3,
            lease_owner = ?4, updated_at = ?1
         WHERE id IN (
            SELECT id FROM jobs
            WHERE (state = 'queued' AND run_after <= ?1) OR (state = 'running' AND lease_until < ?1)
            ORDER BY run_after LIMIT ?5)
         RETURNING {JOB_COLUMNS}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![now, now + lease_us, token, worker, limit as i64])?;
    let mut jobs = Vec::new();
    while let Some(r) = rows.next()? {
        jobs.push(job_from_row(r)?);
    }
    jobs.sort_by_key(|j| j.run_after);
    Ok(jobs)
}

pub fn finish(conn: &Connection, outcomes: &[JobOutcome], now: i64) -> anyhow::Result<()> {
    for o in outcomes {
        let (id, token) = (o.id.to_string(), o.lease_token.to_string());
        let changed = match &o.result {
            JobResult::Done => conn
                .prepare_cached(
                    "UPDATE jobs SET state = 'done', lease_until = NULL, lease_token = NULL, updated_at = ?3
                     WHERE id = ?1 AND lease_token = ?2 AND state = 'running'",
                )?
                .execute(params![id, token, now])?,
            JobResult::Retry { error, run_after } => conn
                .prepare_cached(
                    "UPDATE jobs SET state = 'queued', lease_until = NULL, lease_token = NULL,
                        last_error = ?3, run_after = ?4, updated_at = ?5
                     WHERE id = ?1 AND lease_token = ?2 AND state = 'running'",
                )?
                .execute(params![id, token, error, run_after.unix_micros(), now])?,
            JobResult::Dead { error } => conn
                .prepare_cached(
                    "UPDATE jobs SET state = 'dead', lease_until = NULL, lease_token = NULL,
                        last_error = ?3, updated_at = ?4
                     WHERE id = ?1 AND lease_token = ?2 AND state = 'running'",
                )?
                .execute(params![id, token, error, now])?,
        };
        if changed == 0 {
            tracing::warn!(job_id = %o.id, "job outcome ignored: the lease was lost to another worker");
        }
    }
    Ok(())
}

pub fn release(conn: &Connection, leases: &[(JobId, uuid::Uuid)], now: i64) -> anyhow::Result<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE jobs SET state = 'queued', attempts = max(attempts - 1, 0), lease_until = NULL,
            lease_token = NULL, run_after = ?3, updated_at = ?3
         WHERE id = ?1 AND lease_token = ?2 AND state = 'running'",
    )?;
    for (id, token) in leases {
        stmt.execute(params![id.to_string(), token.to_string(), now])?;
    }
    Ok(())
}

pub fn extend(
    conn: &Connection,
    leases: &[(JobId, uuid::Uuid)],
    until: i64,
    now: i64,
) -> anyhow::Result<usize> {
    let mut stmt = conn.prepare_cached(
        "UPDATE jobs SET lease_until = ?3, updated_at = ?4
         WHERE id = ?1 AND lease_token = ?2 AND state = 'running'",
    )?;
    let mut n = 0;
    for (id, token) in leases {
        n += stmt.execute(params![id.to_string(), token.to_string(), until, now])?;
    }
    Ok(n)
}

pub fn list(conn: &Connection, state: Option<JobState>, limit: usize) -> anyhow::Result<Vec<Job>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR state = ?1) ORDER BY updated_at DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![state.map(|s| s.as_str()), limit as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(job_from_row(r)?);
    }
    Ok(out)
}

pub fn get(conn: &Connection, id: JobId) -> anyhow::Result<Option<Job>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id.to_string()])?;
    rows.next()?.map(job_from_row).transpose()
}

pub fn retry(conn: &Connection, id: JobId, actor: &str, now: i64) -> StoreResult<Job> {
    let state: Option<String> = conn
        .query_row(
            "SELECT state FROM jobs WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()
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
    conn.execute(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_after = ?2, updated_at = ?2 WHERE id = ?1",
        params![id.to_string(), now],
    )
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
    )?;
    get(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("job {id}")))
}

pub fn counts(conn: &Connection) -> anyhow::Result<Vec<(JobState, u64)>> {
    super::rows::counts_by_state(
        conn,
        "SELECT state, count(*) FROM jobs GROUP BY state",
        &JobState::ALL,
        |s| JobState::parse(s).ok(),
    )
}
