//! The audit log: who did what to which entity, and when.

use rusqlite::{Connection, params};

use crate::pipeline::views::AuditEntry;

use super::rows::{ts_at, uuid_at};

#[allow(clippy::too_many_arguments)]
pub fn record(
    conn: &Connection,
    entity: &str,
    entity_id: &str,
    action: &str,
    actor: &str,
    from: Option<&str>,
    to: Option<&str>,
    detail: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (id, entity, entity_id, action, actor, from_state, to_state, detail, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        uuid::Uuid::now_v7().to_string(),
        entity,
        entity_id,
        action,
        actor,
        from,
        to,
        detail,
        now
    ])?;
    Ok(())
}

pub fn list(conn: &Connection, entity: &str, entity_id: &str) -> anyhow::Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, entity, entity_id, action, actor, from_state, to_state, detail, at
         FROM audit_log WHERE entity = ?1 AND entity_id = ?2 ORDER BY at, id",
    )?;
    let mut rows = stmt.query(params![entity, entity_id])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(AuditEntry {
            id: uuid_at(r, 0)?,
            entity: r.get(1)?,
            entity_id: r.get(2)?,
            action: r.get(3)?,
            actor: r.get(4)?,
            from_state: r.get(5)?,
            to_state: r.get(6)?,
            detail: r.get(7)?,
            at: ts_at(r, 8)?,
        });
    }
    Ok(out)
}
