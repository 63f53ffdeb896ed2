//! Drafts and their transitions; queueing a draft creates its outbox row
//! and delivery job in the same transaction.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::domain::{
    ChannelKind, ConversationId, CustomerId, DraftAction, DraftId, DraftState, MessageId,
};
use crate::pipeline::ports::{DraftChange, StoreError, StoreResult};
use crate::pipeline::views::{DraftView, NewDraft};

use super::audit;
use super::records::insert_jobs;
use super::rows::{channel_at, ts_at};

macro_rules! columns {
    () => {
        "id, customer_id, conversation_id, in_reply_to, channel, state, body, original_body, created_by, created_at, updated_at, meta::text"
    };
}

fn from_row(r: &PgRow) -> anyhow::Result<DraftView> {
    let state: String = r.try_get(5)?;
    Ok(DraftView {
        id: DraftId::from_uuid(r.try_get(0)?),
        customer_id: CustomerId::from_uuid(r.try_get(1)?),
        conversation_id: ConversationId::from_uuid(r.try_get(2)?),
        in_reply_to: r
            .try_get::<Option<uuid::Uuid>, _>(3)?
            .map(MessageId::from_uuid),
        channel: channel_at(r, 4)?,
        state: DraftState::parse(&state).map_err(|e| anyhow::anyhow!("{e}"))?,
        body: r.try_get(6)?,
        original_body: r.try_get(7)?,
        created_by: r.try_get(8)?,
        created_at: ts_at(r, 9)?,
        updated_at: ts_at(r, 10)?,
        meta: r
            .try_get::<Option<String>, _>(11)?
            .map(|m| serde_json::from_str(&m))
            .transpose()?,
    })
}

pub async fn get(conn: &mut PgConnection, id: DraftId) -> anyhow::Result<Option<DraftView>> {
    let row = sqlx::query(concat!("SELECT ", columns!(), " FROM drafts WHERE id = $1"))
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(
    conn: &mut PgConnection,
    state: Option<DraftState>,
    limit: usize,
) -> anyhow::Result<Vec<DraftView>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM drafts WHERE ($1::text IS NULL OR state = $1) ORDER BY created_at DESC LIMIT $2"
    ))
    .bind(state.map(|s| s.as_str()))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn for_message(
    conn: &mut PgConnection,
    message: MessageId,
) -> anyhow::Result<Vec<DraftView>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM drafts WHERE in_reply_to = $1 ORDER BY created_at"
    ))
    .bind(message.as_uuid())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn create(
    conn: &mut PgConnection,
    d: NewDraft,
    actor: &str,
    now: i64,
) -> StoreResult<DraftView> {
    let conv = sqlx::query("SELECT customer_id, channel FROM conversations WHERE id = $1")
        .bind(d.conversation_id.as_uuid())
        .fetch_optional(&mut *conn)
        .await
        .map_err(anyhow::Error::from)?;
    let Some(conv) = conv else {
        return Err(StoreError::NotFound(format!(
            "conversation {}",
            d.conversation_id
        )));
    };
    let customer: uuid::Uuid = conv.try_get(0).map_err(anyhow::Error::from)?;
    let channel: String = conv.try_get(1).map_err(anyhow::Error::from)?;
    if customer != d.customer_id.as_uuid() {
        return Err(StoreError::Conflict(format!(
            "conversation {} belongs to another customer",
            d.conversation_id
        )));
    }
    sqlx::query(
        "INSERT INTO drafts (id, customer_id, conversation_id, in_reply_to, channel, state, body, original_body, created_by, created_at, updated_at, meta)
         VALUES ($1, $2, $3, $4, $5, 'proposed', $6, $6, $7, $8, $8, $9::jsonb)",
    )
    .bind(d.id.as_uuid())
    .bind(customer)
    .bind(d.conversation_id.as_uuid())
    .bind(d.in_reply_to.map(|m| m.as_uuid()))
    .bind(&channel)
    .bind(&d.body)
    .bind(actor)
    .bind(now)
    .bind(d.meta.as_ref().map(|m| m.to_string()))
    .execute(&mut *conn)
    .await
    .map_err(anyhow::Error::from)?;
    if let (Some(msg), Some(a)) = (d.in_reply_to, &d.analysis) {
        sqlx::query("UPDATE messages SET analysis = $2::jsonb WHERE id = $1")
            .bind(msg.as_uuid())
            .bind(a.to_string())
            .execute(&mut *conn)
            .await
            .map_err(anyhow::Error::from)?;
    }
    if let Some(o) = &d.offer {
        sqlx::query(
            "INSERT INTO offer_assignments (id, customer_id, experiment, variant, offer_id, holdout, priced, draft_id, message_id, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(d.customer_id.as_uuid())
        .bind(&o.experiment)
        .bind(&o.variant)
        .bind(&o.offer_id)
        .bind(o.holdout)
        .bind(o.priced)
        .bind(d.id.as_uuid())
        .bind(d.in_reply_to.map(|m| m.as_uuid()))
        .bind(now)
        .execute(&mut *conn)
        .await
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
    )
    .await?;
    get(conn, d.id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("draft {}", d.id)))
}

async fn set_state(
    conn: &mut PgConnection,
    id: DraftId,
    state: DraftState,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE drafts SET state = $2, updated_at = $3 WHERE id = $1")
        .bind(id.as_uuid())
        .bind(state.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn change(conn: &mut PgConnection, c: DraftChange, now: i64) -> StoreResult<DraftView> {
    // Lock the draft: two reviewers acting at once take turns, and the
    // second sees the first one's state.
    sqlx::query("SELECT 1 FROM drafts WHERE id = $1 FOR UPDATE")
        .bind(c.id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(anyhow::Error::from)?;
    let draft = get(conn, c.id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("draft {}", c.id)))?;
    let to = draft.state.apply(c.action)?;
    let id = c.id.to_string();
    if c.action == DraftAction::Edit {
        let body = c
            .body
            .as_deref()
            .filter(|b| !b.trim().is_empty())
            .ok_or_else(|| StoreError::Conflict("an edit needs the new text".into()))?;
        sqlx::query("UPDATE drafts SET state = $2, body = $3, updated_at = $4 WHERE id = $1")
            .bind(c.id.as_uuid())
            .bind(to.as_str())
            .bind(body)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(anyhow::Error::from)?;
    } else {
        set_state(conn, c.id, to, now).await?;
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
    )
    .await?;
    let Some(dispatch) = c.dispatch else {
        return get(conn, c.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("draft {id}")));
    };
    // Approve/Edit move on to queued; Requeue is already there.
    if to != DraftState::Queued {
        let q = to.apply(DraftAction::Queue)?;
        set_state(conn, c.id, q, now).await?;
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
        )
        .await?;
    }
    let body: String = sqlx::query_scalar("SELECT body FROM drafts WHERE id = $1")
        .bind(c.id.as_uuid())
        .fetch_one(&mut *conn)
        .await
        .map_err(anyhow::Error::from)?;
    let recipient = recipient(conn, &draft).await?;
    let existing: Option<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM outbox WHERE draft_id = $1 FOR UPDATE")
            .bind(c.id.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .map_err(anyhow::Error::from)?;
    // A requeue reuses the draft's first outbox row and its idempotency key,
    // so a channel that can deduplicate still recognises an earlier send.
    let outbox_id = match existing {
        Some(outbox_id) => {
            sqlx::query(
                "UPDATE outbox SET state = 'pending', body = $2, recipient = $3, last_error = NULL, updated_at = $4
                 WHERE id = $1",
            )
            .bind(outbox_id)
            .bind(&body)
            .bind(&recipient)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(anyhow::Error::from)?;
            outbox_id
        }
        None => {
            let outbox_id = dispatch.outbox_id.as_uuid();
            sqlx::query(
                "INSERT INTO outbox (id, draft_id, customer_id, conversation_id, channel, recipient, subject, body, idempotency_key, state, attempts, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, 'pending', 0, $9, $9)",
            )
            .bind(outbox_id)
            .bind(c.id.as_uuid())
            .bind(draft.customer_id.as_uuid())
            .bind(draft.conversation_id.as_uuid())
            .bind(draft.channel.as_str())
            .bind(&recipient)
            .bind(&body)
            .bind(format!("draft:{id}"))
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(anyhow::Error::from)?;
            outbox_id
        }
    };
    let mut job = dispatch.job;
    job.payload = serde_json::json!({ "outbox": outbox_id.to_string() });
    insert_jobs(conn, &[job], now).await?;
    get(conn, c.id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("draft {id}")))
}

/// The address a draft goes to on its conversation's channel.
async fn recipient(conn: &mut PgConnection, draft: &DraftView) -> StoreResult<String> {
    let thread: String = sqlx::query_scalar("SELECT thread FROM conversations WHERE id = $1")
        .bind(draft.conversation_id.as_uuid())
        .fetch_one(&mut *conn)
        .await
        .map_err(anyhow::Error::from)?;
    if draft.channel != ChannelKind::Email {
        return Ok(thread);
    }
    // The customer's own address: the first email they were known by.
    let email: Option<String> = sqlx::query_scalar(
        "SELECT value FROM customer_identifiers WHERE customer_id = $1 AND kind = 'email' ORDER BY seq LIMIT 1",
    )
    .bind(draft.customer_id.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(anyhow::Error::from)?;
    email
        .ok_or_else(|| StoreError::Conflict("the customer has no email address to reply to".into()))
}
