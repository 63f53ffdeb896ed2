//! Customer reads, events, messages and conversations on PostgreSQL.

use std::collections::HashMap;

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::domain::{
    ConversationId, CustomerId, Direction, EventId, IdKind, Identity, MessageId, SourceEventId,
    Timestamp,
};
use crate::pipeline::views::{
    ConflictView, ConversationView, CustomerStats, CustomerView, StoredEvent, StoredMessage,
};

use super::rows::{channel_at, opt_ts_at, ts_at};

pub async fn get(conn: &mut PgConnection, id: CustomerId) -> anyhow::Result<Option<CustomerView>> {
    let head = sqlx::query("SELECT name, created_at, merged_into FROM customers WHERE id = $1")
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(head) = head else {
        return Ok(None);
    };
    let name: Option<String> = head.try_get(0)?;
    let created_at: i64 = head.try_get(1)?;
    let merged_into: Option<uuid::Uuid> = head.try_get(2)?;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, value FROM customer_identifiers WHERE customer_id = $1 ORDER BY created_at, seq",
    )
    .bind(id.as_uuid())
    .fetch_all(&mut *conn)
    .await?;
    let (identity, aliases) = split_identifiers(&rows);
    let stats = sqlx::query(
        "SELECT orders, revenue_minor, refunds_minor, first_order_at, last_order_at, last_event_at, subscription, events, messages
         FROM customer_stats WHERE customer_id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| -> anyhow::Result<CustomerStats> {
        Ok(CustomerStats {
            orders: r.try_get::<i64, _>(0)? as u64,
            revenue_minor: r.try_get(1)?,
            refunds_minor: r.try_get(2)?,
            first_order_at: opt_ts_at(&r, 3)?,
            last_order_at: opt_ts_at(&r, 4)?,
            last_event_at: opt_ts_at(&r, 5)?,
            subscription: r.try_get(6)?,
            events: r.try_get::<i64, _>(7)? as u64,
            messages: r.try_get::<i64, _>(8)? as u64,
        })
    })
    .transpose()?
    .unwrap_or_default();
    let open_conflicts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM identity_conflicts WHERE (customer_id = $1 OR other_customer_id = $1) AND resolved_at IS NULL",
    )
    .bind(id.as_uuid())
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(CustomerView {
        id,
        name,
        identity,
        created_at: Timestamp::from_unix_micros(created_at),
        merged_into: merged_into.map(CustomerId::from_uuid),
        stats,
        open_conflicts: open_conflicts as u64,
        aliases,
    }))
}

/// The first value of each kind is the customer's; later ones (from
/// merges) are aliases.
fn split_identifiers(rows: &[(String, String)]) -> (Identity, Vec<(IdKind, String)>) {
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

pub async fn find(
    conn: &mut PgConnection,
    kind: IdKind,
    value: &str,
) -> anyhow::Result<Option<CustomerId>> {
    let c: Option<uuid::Uuid> = sqlx::query_scalar(
        "SELECT customer_id FROM customer_identifiers WHERE kind = $1 AND value = $2",
    )
    .bind(kind.as_str())
    .bind(value)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(c.map(CustomerId::from_uuid))
}

/// Value figures from the customer's events. Recomputed, not incremented,
/// so running the job twice for one event cannot count it twice.
pub async fn refresh_stats(
    conn: &mut PgConnection,
    id: CustomerId,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE customer_stats SET
            orders = (SELECT count(*) FROM events WHERE customer_id = $1 AND kind = 'order'),
            revenue_minor = (SELECT coalesce(sum(amount_minor), 0) FROM events WHERE customer_id = $1 AND kind = 'order'),
            refunds_minor = (SELECT coalesce(sum(amount_minor), 0) FROM events WHERE customer_id = $1 AND kind = 'refund'),
            first_order_at = (SELECT min(occurred_at) FROM events WHERE customer_id = $1 AND kind = 'order'),
            last_order_at = (SELECT max(occurred_at) FROM events WHERE customer_id = $1 AND kind = 'order'),
            events = (SELECT count(*) FROM events WHERE customer_id = $1),
            messages = (SELECT count(*) FROM messages WHERE customer_id = $1 AND direction = 'in'),
            last_event_at = greatest(
                coalesce((SELECT max(occurred_at) FROM events WHERE customer_id = $1), 0),
                coalesce((SELECT max(at) FROM messages WHERE customer_id = $1 AND direction = 'in'), 0)),
            subscription = coalesce((SELECT CASE kind
                    WHEN 'subscription_started' THEN 'active'
                    WHEN 'subscription_resumed' THEN 'active'
                    WHEN 'subscription_paused' THEN 'paused'
                    WHEN 'subscription_cancelled' THEN 'cancelled' END
                FROM events WHERE customer_id = $1 AND kind IN
                    ('subscription_started', 'subscription_resumed', 'subscription_paused', 'subscription_cancelled')
                ORDER BY occurred_at DESC, id DESC LIMIT 1), 'none'),
            updated_at = $2
         WHERE customer_id = $1",
    )
    .bind(id.as_uuid())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn conflicts(
    conn: &mut PgConnection,
    customer: Option<CustomerId>,
) -> anyhow::Result<Vec<ConflictView>> {
    let rows = sqlx::query(
        "SELECT id, customer_id, other_customer_id, kind, value, existing_value, source, created_at, resolved_at
         FROM identity_conflicts
         WHERE $1::uuid IS NULL OR customer_id = $1 OR other_customer_id = $1
         ORDER BY created_at, id",
    )
    .bind(customer.map(|c| c.as_uuid()))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get(3)?;
            Ok(ConflictView {
                id: r.try_get(0)?,
                customer_id: r
                    .try_get::<Option<uuid::Uuid>, _>(1)?
                    .map(CustomerId::from_uuid),
                other_customer_id: r
                    .try_get::<Option<uuid::Uuid>, _>(2)?
                    .map(CustomerId::from_uuid),
                kind: IdKind::parse(&kind).map_err(|e| anyhow::anyhow!("{e}"))?,
                value: r.try_get(4)?,
                existing_value: r.try_get(5)?,
                source: r.try_get(6)?,
                created_at: ts_at(r, 7)?,
                resolved_at: opt_ts_at(r, 8)?,
            })
        })
        .collect()
}

macro_rules! event_columns {
    () => {
        "id, source_id, customer_id, kind, occurred_at, occurred_offset, amount_minor, currency, channel"
    };
}

fn event_from_row(r: &PgRow) -> anyhow::Result<StoredEvent> {
    let kind: String = r.try_get(3)?;
    let amount: Option<i64> = r.try_get(6)?;
    let currency: Option<String> = r.try_get(7)?;
    let (kind, amount) = crate::store::event_kind_and_amount(kind, amount, currency)?;
    Ok(StoredEvent {
        id: EventId::from_uuid(r.try_get(0)?),
        source_id: r.try_get(1)?,
        customer_id: CustomerId::from_uuid(r.try_get(2)?),
        kind,
        occurred_at: Timestamp::from_parts(r.try_get(4)?, r.try_get(5)?),
        amount,
        channel: channel_at(r, 8)?,
    })
}

pub async fn event(conn: &mut PgConnection, id: EventId) -> anyhow::Result<Option<StoredEvent>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        " FROM events WHERE id = $1"
    ))
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(event_from_row).transpose()
}

pub async fn customer_events(
    conn: &mut PgConnection,
    customer: CustomerId,
    since: i64,
) -> anyhow::Result<Vec<StoredEvent>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        " FROM events WHERE customer_id = $1 AND occurred_at >= $2 ORDER BY occurred_at"
    ))
    .bind(customer.as_uuid())
    .bind(since)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(event_from_row).collect()
}

macro_rules! message_columns {
    () => {
        "id, customer_id, conversation_id, channel, direction, body, at"
    };
}

fn message_from_row(r: &PgRow) -> anyhow::Result<StoredMessage> {
    let dir: String = r.try_get(4)?;
    Ok(StoredMessage {
        id: MessageId::from_uuid(r.try_get(0)?),
        customer_id: CustomerId::from_uuid(r.try_get(1)?),
        conversation_id: ConversationId::from_uuid(r.try_get(2)?),
        channel: channel_at(r, 3)?,
        direction: Direction::parse(&dir).map_err(|e| anyhow::anyhow!("{e}"))?,
        text: r.try_get(5)?,
        at: ts_at(r, 6)?,
    })
}

pub async fn message(
    conn: &mut PgConnection,
    id: MessageId,
) -> anyhow::Result<Option<StoredMessage>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages WHERE id = $1"
    ))
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(message_from_row).transpose()
}

pub async fn conversation_messages(
    conn: &mut PgConnection,
    id: ConversationId,
) -> anyhow::Result<Vec<StoredMessage>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages WHERE conversation_id = $1 ORDER BY at, id"
    ))
    .bind(id.as_uuid())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(message_from_row).collect()
}

pub async fn conversation(
    conn: &mut PgConnection,
    id: ConversationId,
) -> anyhow::Result<Option<ConversationView>> {
    let row = sqlx::query(
        "SELECT id, customer_id, channel, thread, status, last_message_at FROM conversations WHERE id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(ConversationView {
            id: ConversationId::from_uuid(r.try_get(0)?),
            customer_id: CustomerId::from_uuid(r.try_get(1)?),
            channel: channel_at(&r, 2)?,
            thread: r.try_get(3)?,
            status: r.try_get(4)?,
            last_message_at: ts_at(&r, 5)?,
        })
    })
    .transpose()
}

pub async fn event_digests(
    conn: &mut PgConnection,
    ids: &[SourceEventId],
) -> anyhow::Result<HashMap<String, String>> {
    let ids: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT source_id, digest FROM events WHERE source_id = ANY($1)")
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().collect())
}

pub async fn offer_history(
    conn: &mut PgConnection,
    customer: CustomerId,
) -> anyhow::Result<Vec<(String, Timestamp, bool)>> {
    let rows: Vec<(String, i64, bool)> = sqlx::query_as(
        "SELECT offer_id, at, priced FROM offer_assignments
         WHERE customer_id = $1 AND offer_id IS NOT NULL AND NOT holdout ORDER BY at",
    )
    .bind(customer.as_uuid())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(o, at, p)| (o, Timestamp::from_unix_micros(at), p))
        .collect())
}
