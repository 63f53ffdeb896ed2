//! Schema migrations on SQLite: applied in the writer's transaction, and
//! checked read-only for `/readyz`.

use anyhow::Context;
use rusqlite::Connection;

use super::super::migrations;

/// Applies every pending migration; returns the applied ones' names.
pub(super) fn migrate(c: &Connection, now: i64) -> anyhow::Result<Vec<String>> {
    let done = applied(c)?;
    let mut names = Vec::new();
    for m in migrations::pending(migrations::SQLITE, &done)? {
        c.execute_batch(m.sql)
            .with_context(|| format!("applying migration {} ({})", m.version, m.name))?;
        c.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![m.version, m.name, m.checksum(), now],
        )?;
        names.push(format!("{:04}_{}", m.version, m.name));
    }
    Ok(names)
}

/// Fails unless every migration is applied (never writes).
pub(super) fn check_ready(c: &Connection) -> anyhow::Result<()> {
    let done = applied_readonly(c)?;
    let pending = migrations::pending(migrations::SQLITE, &done)?;
    anyhow::ensure!(
        pending.is_empty(),
        "{} migration(s) not applied; run `holdfast migrate`",
        pending.len()
    );
    Ok(())
}

fn applied(conn: &Connection) -> anyhow::Result<Vec<(i64, String)>> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )?;
    let mut stmt =
        conn.prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn applied_readonly(conn: &Connection) -> anyhow::Result<Vec<(i64, String)>> {
    let exists: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        [],
        |r| r.get(0),
    )?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    let mut stmt =
        conn.prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
