//! Conversions between SQLite values and domain values.

use anyhow::Context;
use rusqlite::Row;

use crate::domain::{ChannelKind, Timestamp};

pub fn uuid_at(row: &Row<'_>, idx: usize) -> anyhow::Result<uuid::Uuid> {
    let s: String = row.get(idx)?;
    uuid::Uuid::parse_str(&s).with_context(|| format!("bad uuid {s:?} in column {idx}"))
}

pub fn opt_uuid_at(row: &Row<'_>, idx: usize) -> anyhow::Result<Option<uuid::Uuid>> {
    let s: Option<String> = row.get(idx)?;
    s.map(|s| uuid::Uuid::parse_str(&s).with_context(|| format!("bad uuid {s:?}")))
        .transpose()
}

pub fn ts_at(row: &Row<'_>, idx: usize) -> anyhow::Result<Timestamp> {
    Ok(Timestamp::from_unix_micros(row.get(idx)?))
}

pub fn opt_ts_at(row: &Row<'_>, idx: usize) -> anyhow::Result<Option<Timestamp>> {
    let v: Option<i64> = row.get(idx)?;
    Ok(v.map(Timestamp::from_unix_micros))
}

pub fn channel_at(row: &Row<'_>, idx: usize) -> anyhow::Result<ChannelKind> {
    let s: String = row.get(idx)?;
    ChannelKind::parse(&s).map_err(|e| anyhow::anyhow!("stored channel: {e}"))
}

/// Counts per state from `SELECT state, count(*) … GROUP BY state`, with a
/// zero for every state in `all` that has no rows.
pub fn counts_by_state<S: Copy + PartialEq>(
    conn: &rusqlite::Connection,
    sql: &str,
    all: &[S],
    parse: impl Fn(&str) -> Option<S>,
) -> anyhow::Result<Vec<(S, u64)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out: Vec<(S, u64)> = all.iter().map(|s| (*s, 0)).collect();
    for row in rows {
        let (state, n) = row?;
        if let Some(s) = parse(&state)
            && let Some(slot) = out.iter_mut().find(|(k, _)| *k == s)
        {
            slot.1 = n as u64;
        }
    }
    Ok(out)
}
