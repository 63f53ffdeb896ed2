//! Merging two customers: everything of one moves to the other, which
//! keeps the merged one's identifiers as aliases.

use sqlx::PgConnection;

use crate::domain::CustomerId;
use crate::pipeline::ports::{MergeReport, StoreError, StoreResult};

use super::audit;
use super::customers::refresh_stats;

/// Runs one statement with $1 = survivor, $2 = merged (and $3 = now when
/// `now` is given); returns the rows it touched.
async fn run(
    conn: &mut PgConnection,
    sql: &'static str,
    into: uuid::Uuid,
    from: uuid::Uuid,
    now: Option<i64>,
) -> anyhow::Result<u64> {
    let mut q = sqlx::query(sql).bind(into).bind(from);
    if let Some(now) = now {
        q = q.bind(now);
    }
    Ok(q.execute(&mut *conn).await?.rows_affected())
}

pub async fn merge(
    conn: &mut PgConnection,
    into: CustomerId,
    from: CustomerId,
    actor: &str,
    now: i64,
) -> StoreResult<MergeReport> {
    if into == from {
        return Err(StoreError::Conflict(
            "cannot merge a customer into itself".into(),
        ));
    }
    // Both rows locked in one order, so concurrent merges take turns.
    let (a, b) = (into.as_uuid(), from.as_uuid());
    let locked: Vec<(uuid::Uuid, Option<uuid::Uuid>)> = sqlx::query_as(
        "SELECT id, merged_into FROM customers WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind(vec![a, b])
    .fetch_all(&mut *conn)
    .await
    .map_err(anyhow::Error::from)?;
    for id in [into, from] {
        match locked.iter().find(|(c, _)| *c == id.as_uuid()) {
            None => return Err(StoreError::NotFound(format!("customer {id}"))),
            Some((_, Some(m))) => {
                return Err(StoreError::Conflict(format!(
                    "customer {id} was already merged into {m}"
                )));
            }
            Some((_, None)) => {}
        }
    }
    let mut report = MergeReport::default();
    // Every identifier moves: the merged customer's ids stay as aliases of
    // the survivor, so input that names them still finds the right person.
    let moved: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, value FROM customer_identifiers WHERE customer_id = $1 ORDER BY created_at, seq",
    )
    .bind(b)
    .fetch_all(&mut *conn)
    .await
    .map_err(anyhow::Error::from)?;
    report.identifiers_moved = run(
        conn,
        "UPDATE customer_identifiers SET customer_id = $1 WHERE customer_id = $2",
        a,
        b,
        None,
    )
    .await?;
    report.events_moved = run(
        conn,
        "UPDATE events SET customer_id = $1 WHERE customer_id = $2",
        a,
        b,
        None,
    )
    .await?;
    // Conversations on the same channel thread join the survivor's.
    for sql in [
        "UPDATE messages SET conversation_id = c1.id FROM conversations c1, conversations c2
         WHERE c2.id = messages.conversation_id AND c2.customer_id = $2 AND c1.customer_id = $1
           AND c1.channel = c2.channel AND c1.thread = c2.thread",
        "UPDATE drafts SET conversation_id = c1.id FROM conversations c1, conversations c2
         WHERE c2.id = drafts.conversation_id AND c2.customer_id = $2 AND c1.customer_id = $1
           AND c1.channel = c2.channel AND c1.thread = c2.thread",
        "UPDATE outbox SET conversation_id = c1.id FROM conversations c1, conversations c2
         WHERE c2.id = outbox.conversation_id AND c2.customer_id = $2 AND c1.customer_id = $1
           AND c1.channel = c2.channel AND c1.thread = c2.thread",
        "DELETE FROM conversations WHERE customer_id = $2 AND EXISTS (SELECT 1 FROM conversations c1
           WHERE c1.customer_id = $1 AND c1.channel = conversations.channel AND c1.thread = conversations.thread)",
    ] {
        run(conn, sql, a, b, None).await?;
    }
    report.conversations_moved = run(
        conn,
        "UPDATE conversations SET customer_id = $1 WHERE customer_id = $2",
        a,
        b,
        None,
    )
    .await?;
    report.messages_moved = run(
        conn,
        "UPDATE messages SET customer_id = $1 WHERE customer_id = $2",
        a,
        b,
        None,
    )
    .await?;
    report.drafts_moved = run(
        conn,
        "UPDATE drafts SET customer_id = $1 WHERE customer_id = $2",
        a,
        b,
        None,
    )
    .await?;
    run(
        conn,
        "UPDATE outbox SET customer_id = $1 WHERE customer_id = $2",
        a,
        b,
        None,
    )
    .await?;
    report.conflicts_resolved = run(
        conn,
        "UPDATE identity_conflicts SET resolved_at = $3
         WHERE resolved_at IS NULL AND ((customer_id = $1 AND other_customer_id = $2) OR (customer_id = $2 AND other_customer_id = $1))",
        a,
        b,
        Some(now),
    )
    .await?;
    run(
        conn,
        "UPDATE identity_conflicts SET customer_id = $1 WHERE customer_id = $2",
        a,
        b,
        None,
    )
    .await?;
    run(
        conn,
        "UPDATE identity_conflicts SET other_customer_id = $1 WHERE other_customer_id = $2",
        a,
        b,
        None,
    )
    .await?;
    run(
        conn,
        "UPDATE customers SET merged_into = $1, updated_at = $3 WHERE id = $2",
        a,
        b,
        Some(now),
    )
    .await?;
    run(
        conn,
        "UPDATE customers SET name = coalesce(name, (SELECT name FROM customers WHERE id = $2)), updated_at = $3 WHERE id = $1",
        a,
        b,
        Some(now),
    )
    .await?;
    refresh_stats(conn, into, now).await?;
    refresh_stats(conn, from, now).await?;
    let detail = serde_json::json!({
        "from": b.to_string(),
        "identifiers_moved": report.identifiers_moved,
        "identifiers": moved.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "events_moved": report.events_moved,
        "messages_moved": report.messages_moved,
    })
    .to_string();
    audit::record(
        conn,
        "customer",
        &a.to_string(),
        "merge",
        actor,
        None,
        None,
        Some(&detail),
        now,
    )
    .await?;
    audit::record(
        conn,
        "customer",
        &b.to_string(),
        "merged_into",
        actor,
        None,
        Some(&a.to_string()),
        None,
        now,
    )
    .await?;
    Ok(report)
}
