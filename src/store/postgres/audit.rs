//! The audit log: who did what to which entity, and when.

use sqlx::{PgConnection, Row};

use crate::pipeline::views::AuditEntry;

use super::rows::ts_at;

#[allow(clippy::too_many_arguments)]
pub async fn record(
    conn: &mut PgConnection,
    entity: &str,
    entity_id: &str,
    action: &str,
    actor: &str,
    from: Option<&str>,
    to: Option<&str>,
    detail: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, entity, entity_id, action, actor, from_state, to_state, detail, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(entity)
    .bind(entity_id)
    .bind(action)
    .bind(actor)
    .bind(from)
    .bind(to)
    .bind(detail)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn list(
    conn: &mut PgConnection,
    entity: &str,
    entity_id: &str,
) -> anyhow::Result<Vec<AuditEntry>> {
    let rows = sqlx::query(
        "SELECT id, entity, entity_id, action, actor, from_state, to_state, detail, at
         FROM audit_log WHERE entity = $1 AND entity_id = $2 ORDER BY at, id",
    )
    .bind(entity)
    .bind(entity_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get(0)?,
                entity: r.try_get(1)?,
                entity_id: r.try_get(2)?,
                action: r.try_get(3)?,
                actor: r.try_get(4)?,
                from_state: r.try_get(5)?,
                to_state: r.try_get(6)?,
                detail: r.try_get(7)?,
                at: ts_at(r, 8)?,
            })
        })
        .collect()
}
