//! Drafts and their transitions; queueing a draft creates its outbox row
//! and delivery job in the same transaction.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::domain::{
    ChannelKind, ConversationId, CustomerId, DraftAction, DraftId, DraftState, MessageId,
};
use crate::pipeline::ports::{DraftChange, StoreError, StoreResult};
use crate::pipeline::views::{DraftView, NewDraft};

use super::audit;
use super::ingest::insert_jobs;
use super::rows::{channel_at, opt_uuid_at, ts_at, uuid_at};

const COLUMNS: &str = "id, customer_id, conversation_id, in_reply_to, channel, state, body, original_body, created_by, created_at, updated_at, meta";

fn from_row(r: &Row<'_>) -> anyhow::Result<DraftView> {
    let state: String = r.get(5)?;
    Ok(DraftView {
        id: DraftId::from_uuid(uuid_at(r, 0)?),
        customer_id: CustomerId::from_uuid(uuid_at(r, 1)?),
        conversation_id: ConversationId::from_uuid(uuid_at(r, 2)?),
        in_reply_to: opt_uuid_at(r, 3)?.map(MessageId::from_uuid),
        channel: channel_at(r, 4)?,
        state: DraftState::parse(&state).map_err(|e| anyhow::anyhow!("{e}"))?,
        body: r.get(6)?,
        original_body: r.get(7)?,
        created_by: r.get(8)?,
        created_at: ts_at(r, 9)?,
        updated_at: ts_at(r, 10)?,
        meta: r
            .get::<_, Option<String>>(11)?
            .map(|m| serde_json::from_str(&m))
            .transpose()?,
    })
}

pub fn get(conn: &Connection, id: DraftId) -> anyhow::Result<Option<DraftView>> {
    let sql = format!("SELECT {COLUMNS} FROM drafts WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id.to_string()])?;
    rows.next()?.map(from_row).transpose()
}

pub fn list(
    conn: &Connection,
    state: Option<DraftState>,
    limit: usize,
) -> anyhow::Result<Vec<DraftView>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM drafts WHERE (?1 IS NULL OR state = ?1) ORDER BY created_at DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![state.map(|s| s.as_str()), limit as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(from_row(r)?);
    }
    Ok(out)
}

pub fn for_message(conn: &Connection, message: MessageId) -> anyhow::Result<Vec<DraftView>> {
    let sql = format!("SELECT {COLUMNS} FROM drafts WHERE in_reply_to = ?1 ORDER BY created_at");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([message.to_string()])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(from_row(r)?);
    }
    Ok(out)
}

pub fn create(conn: &Connection, d: NewDraft, actor: &str, now: i64) -> StoreResult<DraftView> {
    let conv: Option<(String, String)> = conn
        .query_row(
            "SELECT customer_id, channel FROM conversations WHERE id = ?1",
            [d.conversation_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(anyhow::Error::from)?;
    let Some((customer, channel)) = conv else {
        return Err(StoreError::NotFound(format!(
            "conversation {}",
            d.conversation_id
        )));
    };
    if customer != d.customer_id.to_string() {
        return Err(StoreError::Conflict(format!(
            "conversation {} belongs to another customer",
            d.conversation_id
        )));
    }
    conn.prepare_cached(
        "INSERT INTO drafts (id, customer_id, conversation_id, in_reply_to, channel, state, body, original_body, created_by, created_at, updated_at, meta)
         VALUES (?1, ?2, ?3, ?4, ?5, 'proposed', ?6, ?6, ?7, ?8, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            d.id.to_string(),
            customer,
            d.conversation_id.to_string(),
            d.in_reply_to.map(|m| m.to_string()),
            channel,
            d.body,
            actor,
            now,
            d.meta.as_ref().map(|m| m.to_string())
        ])
    })
    .map_err(anyhow::Error::from)?;
    if let (Some(msg), Some(a)) = (d.in_reply_to, &d.analysis) {
        conn.execute(
            "UPDATE messages SET analysis = ?2 WHERE id = ?1",
            params![msg.to_string(), a.to_string()],
        )
        .map_err(anyhow::Error::from)?;
    }
    if let Some(o) = &d.offer {
        conn.execute(
            "INSERT INTO offer_assignments (id, customer_id, experiment, variant, offer_id, holdout, priced, draft_id, message_id, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                uuid::Uuid::now_v7().to_string(),
                d.customer_id.to_string(),
                o.experiment,
                o.variant,
                o.offer_id,
                o.holdout,
                o.priced,
                d.id.to_string(),
                d.in_reply_to.map(|m| m.to_string()),
                now
            ],
        )
        .map_err(anyhow::Error::from)?;
    }
    audit::record(
        conn,
        "draft",
        &d.id.to_string(),
        "create",
        actor,
        None,
        Some("proposed"),
        None,
        now,
    )?;
    get(conn, d.id)?.ok_or_else(|| StoreError::NotFound(format!("draft {}", d.id)))
}

pub fn change(conn: &Connection, c: DraftChange, now: i64) -> StoreResult<DraftView> {
    let draft = get(conn, c.id)?.ok_or_else(|| StoreError::NotFound(format!("draft {}", c.id)))?;
    let to = draft.state.apply(c.action)?;
    let id = c.id.to_string();
    if c.action == DraftAction::Edit {
        let body = c
            .body
            .as_deref()
            .filter(|b| !b.trim().is_empty())
            .ok_or_else(|| StoreError::Conflict("an edit needs the new text".into()))?;
        conn.execute(
            "UPDATE drafts SET state = ?2, body = ?3, updated_at = ?4 WHERE id = ?1",
            params![id, to.as_str(), body, now],
        )
        .map_err(anyhow::Error::from)?;
    } else {
        conn.execute(
            "UPDATE drafts SET state = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, to.as_str(), now],
        )
        .map_err(anyhow::Error::from)?;
    }
    audit::record(
        conn,
        "draft",
        &id,
        c.action.as_str(),
        &c.actor,
        Some(draft.state.as_str()),
        Some(to.as_str()),
        c.note.as_deref(),
        now,
    )?;
    let Some(dispatch) = c.dispatch else {
        return get(conn, c.id)?.ok_or_else(|| StoreError::NotFound(format!("draft {id}")));
    };
    // Approve/Edit move on to queued; Requeue is already there.
    let queued = if to == DraftState::Queued {
        to
    } else {
        let q = to.apply(DraftAction::Queue)?;
        conn.execute(
            "UPDATE drafts SET state = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, q.as_str(), now],
        )
        .map_err(anyhow::Error::from)?;
        audit::record(
            conn,
            "draft",
            &id,
            "queue",
            &c.actor,
            Some(to.as_str()),
            Some(q.as_str()),
            None,
            now,
        )?;
        q
    };
    debug_assert_eq!(queued, DraftState::Queued);
    let body: String = conn
        .query_row("SELECT body FROM drafts WHERE id = ?1", [&id], |r| r.get(0))
        .map_err(anyhow::Error::from)?;
    let recipient = recipient(conn, &draft)?;
    let existing: Option<String> = conn
        .query_row("SELECT id FROM outbox WHERE draft_id = ?1", [&id], |r| {
            r.get(0)
        })
        .optional()
        .map_err(anyhow::Error::from)?;
    // A requeue reuses the draft's first outbox row and its idempotency key,
    // so a channel that can deduplicate still recognises an earlier send.
    let outbox_id = match existing {
        Some(outbox_id) => {
            conn.execute(
                "UPDATE outbox SET state = 'pending', body = ?2, recipient = ?3, last_error = NULL, updated_at = ?4
                 WHERE id = ?1",
                params![outbox_id, body, recipient, now],
            )
            .map_err(anyhow::Error::from)?;
            outbox_id
        }
        None => {
            let outbox_id = dispatch.outbox_id.to_string();
            conn.execute(
                "INSERT INTO outbox (id, draft_id, customer_id, conversation_id, channel, recipient, subject, body, idempotency_key, state, attempts, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8, 'pending', 0, ?9, ?9)",
                params![
                    outbox_id,
                    id,
                    draft.customer_id.to_string(),
                    draft.conversation_id.to_string(),
                    draft.channel.as_str(),
                    recipient,
                    body,
                    format!("draft:{id}"),
                    now
                ],
            )
            .map_err(anyhow::Error::from)?;
            outbox_id
        }
    };
    let mut job = dispatch.job;
    job.payload = serde_json::json!({ "outbox": outbox_id });
    insert_jobs(conn, &[job], now)?;
    get(conn, c.id)?.ok_or_else(|| StoreError::NotFound(format!("draft {id}")))
}

/// The address a draft goes to on its conversation's channel.
fn recipient(conn: &Connection, draft: &DraftView) -> StoreResult<String> {
    let thread: String = conn
        .query_row(
            "SELECT thread FROM conversations WHERE id = ?1",
            [draft.conversation_id.to_string()],
            |r| r.get(0),
        )
        .map_err(anyhow::Error::from)?;
    if draft.channel != ChannelKind::Email {
        return Ok(thread);
    }
    let email: Option<String> = conn
        .query_row(
            "SELECT value FROM customer_identifiers WHERE customer_id = ?1 AND kind = 'email'",
            [draft.customer_id.to_string()],
            |r| r.get(0),
        )
        .optional()
        .map_err(anyhow::Error::from)?;
    email
        .ok_or_else(|| StoreError::Conflict("the customer has no email address to reply to".into()))
}
