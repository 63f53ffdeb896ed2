//! Customer reads, value figures, and the merge operation on SQLite.

use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::{CustomerId, IdKind, Identity, Timestamp};
use crate::pipeline::ports::{MergeReport, StoreError, StoreResult};
use crate::pipeline::views::{ConflictView, CustomerStats, CustomerView};

use super::audit;
use super::rows::{opt_ts_at, opt_uuid_at, ts_at, uuid_at};

pub fn get(conn: &Connection, id: CustomerId) -> anyhow::Result<Option<CustomerView>> {
    let head: Option<(Option<String>, i64, Option<String>)> = conn
        .prepare_cached("SELECT name, created_at, merged_into FROM customers WHERE id = ?1")?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((name, created_at, merged_into)) = head else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT kind, value FROM customer_identifiers WHERE customer_id = ?1 ORDER BY created_at, rowid",
    )?;
    let rows: Vec<(String, String)> = stmt
        .query_map([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let (identity, aliases) = split_identifiers(&rows);
    let stats = conn
        .prepare_cached(
            "SELECT orders, revenue_minor, refunds_minor, first_order_at, last_order_at, last_event_at, subscription, events, messages
             FROM customer_stats WHERE customer_id = ?1",
        )?
        .query_row([id.to_string()], |r| {
            Ok(CustomerStats {
                orders: r.get::<_, i64>(0)? as u64,
                revenue_minor: r.get(1)?,
                refunds_minor: r.get(2)?,
                first_order_at: r.get::<_, Option<i64>>(3)?.map(Timestamp::from_unix_micros),
                last_order_at: r.get::<_, Option<i64>>(4)?.map(Timestamp::from_unix_micros),
                last_event_at: r.get::<_, Option<i64>>(5)?.map(Timestamp::from_unix_micros),
                subscription: r.get(6)?,
                events: r.get::<_, i64>(7)? as u64,
                messages: r.get::<_, i64>(8)? as u64,
            })
        })
        .optional()?
        .unwrap_or_default();
    let open_conflicts: i64 = conn.prepare_cached(
        "SELECT count(*) FROM identity_conflicts WHERE (customer_id = ?1 OR other_customer_id = ?1) AND resolved_at IS NULL",
    )?
    .query_row([id.to_string()], |r| r.get(0))?;
    Ok(Some(CustomerView {
        id,
        name,
        identity,
        created_at: Timestamp::from_unix_micros(created_at),
        merged_into: merged_into.map(|m| m.parse()).transpose()?,
        stats,
        open_conflicts: open_conflicts as u64,
        aliases,
    }))
}

/// The first value of each kind is the customer's; later ones (from
/// merges) are aliases.
pub fn split_identifiers(rows: &[(String, String)]) -> (Identity, Vec<(IdKind, String)>) {
    let mut primary: Vec<(IdKind, &str)> = Vec::new();
    let mut aliases = Vec::new();
    for (k, v) in rows {
        let Ok(kind) = IdKind::parse(k) else { continue };
        if primary.iter().any(|(pk, _)| *pk == kind) {
            aliases.push((kind, v.clone()));
        } else {
            primary.push((kind, v));
        }
    }
    (Identity::from_identifiers(primary), aliases)
}

pub fn find(conn: &Connection, kind: IdKind, value: &str) -> anyhow::Result<Option<CustomerId>> {
    let c: Option<String> = conn
        .prepare_cached(
            "SELECT customer_id FROM customer_identifiers WHERE kind = ?1 AND value = ?2",
        )?
        .query_row(params![kind.as_str(), value], |r| r.get(0))
        .optional()?;
    Ok(c.map(|s| s.parse()).transpose()?)
}

/// Value figures from the customer's events. Recomputed, not incremented,
/// so running the job twice for one event cannot count it twice.
pub fn refresh_stats(conn: &Connection, id: CustomerId, now: i64) -> anyhow::Result<()> {
    let cid = id.to_string();
    conn.prepare_cached(
        "UPDATE customer_stats SET
            orders = (SELECT count(*) FROM events WHERE customer_id = ?1 AND kind = 'order'),
            revenue_minor = (SELECT coalesce(sum(amount_minor), 0) FROM events WHERE customer_id = ?1 AND kind = 'order'),
            refunds_minor = (SELECT coalesce(sum(amount_minor), 0) FROM events WHERE customer_id = ?1 AND kind = 'refund'),
            first_order_at = (SELECT min(occurred_at) FROM events WHERE customer_id = ?1 AND kind = 'order'),
            last_order_at = (SELECT max(occurred_at) FROM events WHERE customer_id = ?1 AND kind = 'order'),
            events = (SELECT count(*) FROM events WHERE customer_id = ?1),
            messages = (SELECT count(*) FROM messages WHERE customer_id = ?1 AND direction = 'in'),
            last_event_at = max(
                coalesce((SELECT max(occurred_at) FROM events WHERE customer_id = ?1), 0),
                coalesce((SELECT max(at) FROM messages WHERE customer_id = ?1 AND direction = 'in'), 0)),
            subscription = coalesce((SELECT CASE kind
                    WHEN 'subscription_started' THEN 'active'
                    WHEN 'subscription_resumed' THEN 'active'
                    WHEN 'subscription_paused' THEN 'paused'
                    WHEN 'subscription_cancelled' THEN 'cancelled' END
                FROM events WHERE customer_id = ?1 AND kind IN
                    ('subscription_started', 'subscription_resumed', 'subscription_paused', 'subscription_cancelled')
                ORDER BY occurred_at DESC, id DESC LIMIT 1), 'none'),
            updated_at = ?2
         WHERE customer_id = ?1",
    )?
    .execute(params![cid, now])?;
    Ok(())
}

pub fn conflicts(
    conn: &Connection,
    customer: Option<CustomerId>,
) -> anyhow::Result<Vec<ConflictView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, customer_id, other_customer_id, kind, value, existing_value, source, created_at, resolved_at
         FROM identity_conflicts
         WHERE ?1 IS NULL OR customer_id = ?1 OR other_customer_id = ?1
         ORDER BY created_at",
    )?;
    let mut rows = stmt.query([customer.map(|c| c.to_string())])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let kind: String = r.get(3)?;
        out.push(ConflictView {
            id: uuid_at(r, 0)?,
            customer_id: opt_uuid_at(r, 1)?.map(CustomerId::from_uuid),
            other_customer_id: opt_uuid_at(r, 2)?.map(CustomerId::from_uuid),
            kind: IdKind::parse(&kind).map_err(|e| anyhow::anyhow!("{e}"))?,
            value: r.get(4)?,
            existing_value: r.get(5)?,
            source: r.get(6)?,
            created_at: ts_at(r, 7)?,
            resolved_at: opt_ts_at(r, 8)?,
        });
    }
    Ok(out)
}

pub fn merge(
    conn: &Connection,
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
    for id in [into, from] {
        let merged: Option<Option<String>> = conn
            .query_row(
                "SELECT merged_into FROM customers WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(anyhow::Error::from)?;
        match merged {
            None => return Err(StoreError::NotFound(format!("customer {id}"))),
            Some(Some(m)) => {
                return Err(StoreError::Conflict(format!(
                    "customer {id} was already merged into {m}"
                )));
            }
            Some(None) => {}
        }
    }
    let (a, b) = (into.to_string(), from.to_string());
    // Statements take (?1 = survivor, ?2 = merged) or, with a time, also ?3.
    let run = |sql: &str| -> anyhow::Result<u64> { Ok(conn.execute(sql, params![a, b])? as u64) };
    let run_at =
        |sql: &str| -> anyhow::Result<u64> { Ok(conn.execute(sql, params![a, b, now])? as u64) };
    let mut report = MergeReport::default();
    // Every identifier moves: the merged customer's ids stay as aliases of
    // the survivor, so input that names them still finds the right person.
    let moved: Vec<(String, String)> = conn
        .prepare("SELECT kind, value FROM customer_identifiers WHERE customer_id = ?2 AND ?1 IS NOT NULL ORDER BY created_at")
        .and_then(|mut s| s.query_map(params![a, b], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(anyhow::Error::from)?;
    report.identifiers_moved =
        run("UPDATE customer_identifiers SET customer_id = ?1 WHERE customer_id = ?2")?;
    report.events_moved = run("UPDATE events SET customer_id = ?1 WHERE customer_id = ?2")?;
    // Conversations on the same channel thread join the survivor's.
    run("UPDATE messages SET conversation_id = (SELECT c1.id FROM conversations c1 JOIN conversations c2 ON c1.channel = c2.channel AND c1.thread = c2.thread WHERE c1.customer_id = ?1 AND c2.id = messages.conversation_id)
         WHERE conversation_id IN (SELECT c2.id FROM conversations c2 JOIN conversations c1 ON c1.channel = c2.channel AND c1.thread = c2.thread WHERE c2.customer_id = ?2 AND c1.customer_id = ?1)")?;
    run("UPDATE drafts SET conversation_id = (SELECT c1.id FROM conversations c1 JOIN conversations c2 ON c1.channel = c2.channel AND c1.thread = c2.thread WHERE c1.customer_id = ?1 AND c2.id = drafts.conversation_id)
         WHERE conversation_id IN (SELECT c2.id FROM conversations c2 JOIN conversations c1 ON c1.channel = c2.channel AND c1.thread = c2.thread WHERE c2.customer_id = ?2 AND c1.customer_id = ?1)")?;
    run("UPDATE outbox SET conversation_id = (SELECT c1.id FROM conversations c1 JOIN conversations c2 ON c1.channel = c2.channel AND c1.thread = c2.thread WHERE c1.customer_id = ?1 AND c2.id = outbox.conversation_id)
         WHERE conversation_id IN (SELECT c2.id FROM conversations c2 JOIN conversations c1 ON c1.channel = c2.channel AND c1.thread = c2.thread WHERE c2.customer_id = ?2 AND c1.customer_id = ?1)")?;
    run(
        "DELETE FROM conversations WHERE customer_id = ?2 AND EXISTS (SELECT 1 FROM conversations c1 WHERE c1.customer_id = ?1 AND c1.channel = conversations.channel AND c1.thread = conversations.thread)",
    )?;
    report.conversations_moved =
        run("UPDATE conversations SET customer_id = ?1 WHERE customer_id = ?2")?;
    report.messages_moved = run("UPDATE messages SET customer_id = ?1 WHERE customer_id = ?2")?;
    report.drafts_moved = run("UPDATE drafts SET customer_id = ?1 WHERE customer_id = ?2")?;
    run("UPDATE outbox SET customer_id = ?1 WHERE customer_id = ?2")?;
    report.conflicts_resolved = run_at(
        "UPDATE identity_conflicts SET resolved_at = ?3
         WHERE resolved_at IS NULL AND ((customer_id = ?1 AND other_customer_id = ?2) OR (customer_id = ?2 AND other_customer_id = ?1))",
    )?;
    run("UPDATE identity_conflicts SET customer_id = ?1 WHERE customer_id = ?2")?;
    run("UPDATE identity_conflicts SET other_customer_id = ?1 WHERE other_customer_id = ?2")?;
    run_at("UPDATE customers SET merged_into = ?1, updated_at = ?3 WHERE id = ?2")?;
    run_at(
        "UPDATE customers SET name = coalesce(name, (SELECT name FROM customers WHERE id = ?2)), updated_at = ?3 WHERE id = ?1",
    )?;
    refresh_stats(conn, into, now)?;
    refresh_stats(conn, from, now)?;
    let detail = serde_json::json!({
        "from": b,
        "identifiers_moved": report.identifiers_moved,
        "identifiers": moved.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "events_moved": report.events_moved,
        "messages_moved": report.messages_moved,
    })
    .to_string();
    audit::record(
        conn,
        "customer",
        &a,
        "merge",
        actor,
        None,
        None,
        Some(&detail),
        now,
    )?;
    audit::record(
        conn,
        "customer",
        &b,
        "merged_into",
        actor,
        None,
        Some(&a),
        None,
        now,
    )?;
    Ok(report)
}
