//! Conversions between PostgreSQL values and domain values, and the error
//! classes a transaction is retried on.

use anyhow::Context;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::domain::{ChannelKind, Timestamp};
use crate::pipeline::ports::StoreError;

pub fn ts_at(row: &PgRow, idx: usize) -> anyhow::Result<Timestamp> {
    Ok(Timestamp::from_unix_micros(row.try_get(idx)?))
}

pub fn opt_ts_at(row: &PgRow, idx: usize) -> anyhow::Result<Option<Timestamp>> {
    let v: Option<i64> = row.try_get(idx)?;
    Ok(v.map(Timestamp::from_unix_micros))
}

pub fn channel_at(row: &PgRow, idx: usize) -> anyhow::Result<ChannelKind> {
    let s: String = row.try_get(idx)?;
    ChannelKind::parse(&s).map_err(|e| anyhow::anyhow!("stored channel: {e}"))
}

/// A counter stored as BIGINT, read back as the `u32` the domain uses.
pub fn u32_at(row: &PgRow, idx: usize) -> anyhow::Result<u32> {
    let v: i64 = row.try_get(idx)?;
    u32::try_from(v).with_context(|| format!("stored counter {v} out of range in column {idx}"))
}

/// Counts per state from `SELECT state, count(*) … GROUP BY state`, with a
/// zero for every state in `all` that has no rows.
pub async fn counts_by_state<S: Copy + PartialEq>(
    conn: &mut PgConnection,
    sql: &'static str,
    all: &[S],
    parse: impl Fn(&str) -> Option<S>,
) -> anyhow::Result<Vec<(S, u64)>> {
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
    let mut out: Vec<(S, u64)> = all.iter().map(|s| (*s, 0)).collect();
    for row in rows {
        let state: String = row.try_get(0)?;
        let n: i64 = row.try_get(1)?;
        if let Some(s) = parse(&state)
            && let Some(slot) = out.iter_mut().find(|(k, _)| *k == s)
        {
            slot.1 = n as u64;
        }
    }
    Ok(out)
}

/// SQLSTATEs worth running the same work again for: a serialization
/// failure, a deadlock, or a unique key another transaction committed
/// first (the rerun sees its row and takes the "already exists" path).
pub fn retryable_code(code: &str) -> bool {
    matches!(code, "40001" | "40P01" | "23505")
}

pub fn is_retryable(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .and_then(|se| se.as_database_error())
            .and_then(|d| d.code())
            .is_some_and(|c| retryable_code(&c))
    })
}

pub fn store_error_retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Other(a) => is_retryable(a),
        _ => false,
    }
}
