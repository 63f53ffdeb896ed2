//! The outbox on SQLite: a delivery is claimed (`sending`, committed) before
//! the channel is called and marked `sent` exactly once afterwards.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::domain::{ConversationId, CustomerId, DraftAction, DraftId, DraftState, OutboxId};
use crate::pipeline::views::{DeliveryClaim, OutboxEntry, OutboxState, Receipt};

use super::audit;
use super::rows::{channel_at, opt_uuid_at, uuid_at};

const COLUMNS: &str = "id, draft_id, customer_id, conversation_id, channel, recipient, subject, body, idempotency_key, state, attempts, channel_message_id, last_error";

fn from_row(r: &Row<'_>) -> anyhow::Result<OutboxEntry> {
    let state: String = r.get(9)?;
    Ok(OutboxEntry {
        id: OutboxId::from_uuid(uuid_at(r, 0)?),
        draft_id: opt_uuid_at(r, 1)?.map(DraftId::from_uuid),
        customer_id: CustomerId::from_uuid(uuid_at(r, 2)?),
        conversation_id: ConversationId::from_uuid(uuid_at(r, 3)?),
        channel: channel_at(r, 4)?,
        recipient: r.get(5)?,
        subject: r.get(6)?,
        body: r.get(7)?,
        idempotency_key: r.get(8)?,
        state: OutboxState::parse(&state)
            .ok_or_else(|| anyhow::anyhow!("bad outbox state {state}"))?,
        attempts: r.get(10)?,
        channel_message_id: r.get(11)?,
        last_error: r.get(12)?,
    })
}

fn get(conn: &Connection, id: OutboxId) -> anyhow::Result<Option<OutboxEntry>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id.to_string()])?;
    rows.next()?.map(from_row).transpose()
}

pub fn claim(conn: &Connection, id: OutboxId, now: i64) -> anyhow::Result<Option<DeliveryClaim>> {
    let Some(entry) = get(conn, id)? else {
        return Ok(None);
    };
    if matches!(entry.state, OutboxState::Sent | OutboxState::Dead) {
        return Ok(None);
    }
    conn.execute(
        "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
        params![id.to_string(), now],
    )?;
    let maybe_sent_before = entry.state == OutboxState::Sending;
    let entry = get(conn, id)?.ok_or_else(|| anyhow::anyhow!("outbox row vanished"))?;
    Ok(Some(DeliveryClaim {
        entry,
        maybe_sent_before,
    }))
}

pub fn complete(
    conn: &Connection,
    id: OutboxId,
    receipt: &Receipt,
    now: i64,
) -> anyhow::Result<bool> {
    let changed = conn.execute(
        "UPDATE outbox SET state = 'sent', channel_message_id = ?2, sent_at = ?3, updated_at = ?3, last_error = NULL
         WHERE id = ?1 AND state = 'sending'",
        params![id.to_string(), receipt.channel_message_id, now],
    )?;
    if changed == 0 {
        return Ok(false);
    }
    let entry = get(conn, id)?.ok_or_else(|| anyhow::anyhow!("outbox row vanished"))?;
    let message_id = uuid::Uuid::now_v7();
    super::ingest::insert_jobs(
        conn,
        &crate::pipeline::routing::jobs_for_reply(message_id),
        now,
    )?;
    conn.execute(
        "INSERT INTO messages (id, customer_id, conversation_id, channel, direction, external_id, subject, body, digest, at, received_at)
         VALUES (?1, ?2, ?3, ?4, 'out', NULL, ?5, ?6, '', ?7, ?7)",
        params![
            message_id.to_string(),
            entry.customer_id.to_string(),
            entry.conversation_id.to_string(),
            entry.channel.as_str(),
            entry.subject,
            entry.body,
            now
        ],
    )?;
    conn.execute(
        "UPDATE conversations SET last_message_at = max(last_message_at, ?2), status = 'open' WHERE id = ?1",
        params![entry.conversation_id.to_string(), now],
    )?;
    if let Some(draft) = entry.draft_id {
        move_draft(
            conn,
            draft,
            DraftAction::MarkSent,
            Some(&receipt.channel_message_id),
            now,
        )?;
    }
    Ok(true)
}

pub fn fail(
    conn: &Connection,
    id: OutboxId,
    error: &str,
    dead: bool,
    now: i64,
) -> anyhow::Result<()> {
    let state = if dead { "dead" } else { "failed" };
    let changed = conn.execute(
        "UPDATE outbox SET state = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1 AND state IN ('sending', 'pending', 'failed')",
        params![id.to_string(), state, error, now],
    )?;
    if changed > 0
        && dead
        && let Some(entry) = get(conn, id)?
        && let Some(draft) = entry.draft_id
    {
        move_draft(conn, draft, DraftAction::MarkFailed, Some(error), now)?;
    }
    Ok(())
}

fn move_draft(
    conn: &Connection,
    draft: DraftId,
    action: DraftAction,
    detail: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    let state: Option<String> = conn
        .query_row(
            "SELECT state FROM drafts WHERE id = ?1",
            [draft.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    let Some(state) = state else { return Ok(()) };
    let from = DraftState::parse(&state).map_err(|e| anyhow::anyhow!("{e}"))?;
    let to = from.apply(action)?;
    conn.execute(
        "UPDATE drafts SET state = ?2, updated_at = ?3 WHERE id = ?1",
        params![draft.to_string(), to.as_str(), now],
    )?;
    audit::record(
        conn,
        "draft",
        &draft.to_string(),
        action.as_str(),
        "dispatcher",
        Some(from.as_str()),
        Some(to.as_str()),
        detail,
        now,
    )
}

pub fn counts(conn: &Connection) -> anyhow::Result<Vec<(OutboxState, u64)>> {
    super::rows::counts_by_state(
        conn,
        "SELECT state, count(*) FROM outbox GROUP BY state",
        &OutboxState::ALL,
        OutboxState::parse,
    )
}
