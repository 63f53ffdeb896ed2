//! Stored events, messages and conversations, read back on SQLite.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::domain::{
    ConversationId, CustomerId, Direction, EventId, MessageId, SourceEventId, Timestamp,
};
use crate::pipeline::views::{ConversationView, StoredEvent, StoredMessage};

use super::rows::{channel_at, ts_at, uuid_at};

fn event_from_row(r: &Row<'_>) -> anyhow::Result<StoredEvent> {
    let kind: String = r.get(3)?;
    let amount: Option<i64> = r.get(6)?;
    let currency: Option<String> = r.get(7)?;
    let (kind, amount) = crate::store::event_kind_and_amount(kind, amount, currency)?;
    Ok(StoredEvent {
        id: EventId::from_uuid(uuid_at(r, 0)?),
        source_id: r.get(1)?,
        customer_id: CustomerId::from_uuid(uuid_at(r, 2)?),
        kind,
        occurred_at: Timestamp::from_parts(r.get(4)?, r.get(5)?),
        amount,
        channel: channel_at(r, 8)?,
    })
}

pub fn event(conn: &Connection, id: EventId) -> anyhow::Result<Option<StoredEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, source_id, customer_id, kind, occurred_at, occurred_offset, amount_minor, currency, channel FROM events WHERE id = ?1",
    )?;
    let mut rows = stmt.query([id.to_string()])?;
    rows.next()?.map(event_from_row).transpose()
}

fn message_from_row(r: &Row<'_>) -> anyhow::Result<StoredMessage> {
    let dir: String = r.get(4)?;
    Ok(StoredMessage {
        id: MessageId::from_uuid(uuid_at(r, 0)?),
        customer_id: CustomerId::from_uuid(uuid_at(r, 1)?),
        conversation_id: ConversationId::from_uuid(uuid_at(r, 2)?),
        channel: channel_at(r, 3)?,
        direction: Direction::parse(&dir).map_err(|e| anyhow::anyhow!("{e}"))?,
        text: r.get(5)?,
        at: ts_at(r, 6)?,
    })
}

const MESSAGE_COLUMNS: &str = "id, customer_id, conversation_id, channel, direction, body, at";

pub fn message(conn: &Connection, id: MessageId) -> anyhow::Result<Option<StoredMessage>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id.to_string()])?;
    rows.next()?.map(message_from_row).transpose()
}

pub fn conversation_messages(
    conn: &Connection,
    id: ConversationId,
) -> anyhow::Result<Vec<StoredMessage>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1 ORDER BY at, id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id.to_string()])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(message_from_row(r)?);
    }
    Ok(out)
}

pub fn conversation(
    conn: &Connection,
    id: ConversationId,
) -> anyhow::Result<Option<ConversationView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, customer_id, channel, thread, status, last_message_at FROM conversations WHERE id = ?1",
    )?;
    let mut rows = stmt.query([id.to_string()])?;
    rows.next()?
        .map(|r| {
            Ok(ConversationView {
                id: ConversationId::from_uuid(uuid_at(r, 0)?),
                customer_id: CustomerId::from_uuid(uuid_at(r, 1)?),
                channel: channel_at(r, 2)?,
                thread: r.get(3)?,
                status: r.get(4)?,
                last_message_at: ts_at(r, 5)?,
            })
        })
        .transpose()
}

pub fn event_digests(
    conn: &Connection,
    ids: &[SourceEventId],
) -> anyhow::Result<HashMap<String, String>> {
    let mut stmt = conn.prepare_cached("SELECT digest FROM events WHERE source_id = ?1")?;
    let mut out = HashMap::new();
    for id in ids {
        if let Some(d) = stmt
            .query_row([id.as_str()], |r| r.get::<_, String>(0))
            .optional()?
        {
            out.insert(id.as_str().to_owned(), d);
        }
    }
    Ok(out)
}

pub fn customer_events(
    conn: &Connection,
    customer: CustomerId,
    since: i64,
) -> anyhow::Result<Vec<StoredEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, source_id, customer_id, kind, occurred_at, occurred_offset, amount_minor, currency, channel
         FROM events WHERE customer_id = ?1 AND occurred_at >= ?2 ORDER BY occurred_at",
    )?;
    let mut rows = stmt.query(params![customer.to_string(), since])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(event_from_row(r)?);
    }
    Ok(out)
}

pub fn offer_history(
    conn: &Connection,
    customer: CustomerId,
) -> anyhow::Result<Vec<(String, Timestamp, bool)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT offer_id, at, priced FROM offer_assignments
         WHERE customer_id = ?1 AND offer_id IS NOT NULL AND holdout = 0 ORDER BY at",
    )?;
    let rows = stmt.query_map([customer.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Timestamp::from_unix_micros(r.get(1)?),
            r.get::<_, bool>(2)?,
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
