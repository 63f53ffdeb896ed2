//! The outbox on PostgreSQL: a delivery is claimed (`sending`, committed)
//! before the channel is called and marked `sent` exactly once afterwards.
//! Row locks stand in for SQLite's single writer.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::domain::{ConversationId, CustomerId, DraftAction, DraftId, DraftState, OutboxId};
use crate::pipeline::views::{DeliveryClaim, OutboxEntry, OutboxState, Receipt};

use super::audit;
use super::rows::{channel_at, u32_at};

macro_rules! columns {
    () => {
        "id, draft_id, customer_id, conversation_id, channel, recipient, subject, body, idempotency_key, state, attempts, channel_message_id, last_error"
    };
}

fn from_row(r: &PgRow) -> anyhow::Result<OutboxEntry> {
    let state: String = r.try_get(9)?;
    Ok(OutboxEntry {
        id: OutboxId::from_uuid(r.try_get(0)?),
        draft_id: r
            .try_get::<Option<uuid::Uuid>, _>(1)?
            .map(DraftId::from_uuid),
        customer_id: CustomerId::from_uuid(r.try_get(2)?),
        conversation_id: ConversationId::from_uuid(r.try_get(3)?),
        channel: channel_at(r, 4)?,
        recipient: r.try_get(5)?,
        subject: r.try_get(6)?,
        body: r.try_get(7)?,
        idempotency_key: r.try_get(8)?,
        state: OutboxState::parse(&state)
            .ok_or_else(|| anyhow::anyhow!("bad outbox state {state}"))?,
        attempts: u32_at(r, 10)?,
        channel_message_id: r.try_get(11)?,
        last_error: r.try_get(12)?,
    })
}

async fn get(
    conn: &mut PgConnection,
    id: OutboxId,
    lock: bool,
) -> anyhow::Result<Option<OutboxEntry>> {
    let sql = if lock {
        concat!(
            "SELECT ",
            columns!(),
            " FROM outbox WHERE id = $1 FOR UPDATE"
        )
    } else {
        concat!("SELECT ", columns!(), " FROM outbox WHERE id = $1")
    };
    let row = sqlx::query(sql)
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn claim(
    conn: &mut PgConnection,
    id: OutboxId,
    now: i64,
) -> anyhow::Result<Option<DeliveryClaim>> {
    // The row lock makes concurrent claims of one row take turns.
    let Some(entry) = get(conn, id, true).await? else {
        return Ok(None);
    };
    if matches!(entry.state, OutboxState::Sent | OutboxState::Dead) {
        return Ok(None);
    }
    let maybe_sent_before = entry.state == OutboxState::Sending;
    let row = sqlx::query(concat!(
        "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = $2 WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(id.as_uuid())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(DeliveryClaim {
        entry: from_row(&row)?,
        maybe_sent_before,
    }))
}

pub async fn complete(
    conn: &mut PgConnection,
    id: OutboxId,
    receipt: &Receipt,
    now: i64,
) -> anyhow::Result<bool> {
    let row = sqlx::query(concat!(
        "UPDATE outbox SET state = 'sent', channel_message_id = $2, sent_at = $3, updated_at = $3, last_error = NULL
         WHERE id = $1 AND state = 'sending' RETURNING ",
        columns!()
    ))
    .bind(id.as_uuid())
    .bind(&receipt.channel_message_id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let entry = from_row(&row)?;
    let message_id = uuid::Uuid::now_v7();
    super::records::insert_jobs(
        conn,
        &crate::pipeline::routing::jobs_for_reply(message_id),
        now,
    )
    .await?;
    sqlx::query(
        "WITH m AS (
            INSERT INTO messages (id, customer_id, conversation_id, channel, direction, external_id, subject, body, digest, at, received_at)
            VALUES ($1, $2, $3, $4, 'out', NULL, $5, $6, '', $7, $7))
         UPDATE conversations SET last_message_at = greatest(last_message_at, $7), status = 'open' WHERE id = $3",
    )
    .bind(message_id)
    .bind(entry.customer_id.as_uuid())
    .bind(entry.conversation_id.as_uuid())
    .bind(entry.channel.as_str())
    .bind(&entry.subject)
    .bind(&entry.body)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if let Some(draft) = entry.draft_id {
        move_draft(
            conn,
            draft,
            DraftAction::MarkSent,
            Some(&receipt.channel_message_id),
            now,
        )
        .await?;
    }
    Ok(true)
}

pub async fn fail(
    conn: &mut PgConnection,
    id: OutboxId,
    error: &str,
    dead: bool,
    now: i64,
) -> anyhow::Result<()> {
    let state = if dead { "dead" } else { "failed" };
    let draft: Option<Option<uuid::Uuid>> = sqlx::query_scalar(
        "UPDATE outbox SET state = $2, last_error = $3, updated_at = $4
         WHERE id = $1 AND state IN ('sending', 'pending', 'failed') RETURNING draft_id",
    )
    .bind(id.as_uuid())
    .bind(state)
    .bind(error)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if dead && let Some(Some(draft)) = draft {
        move_draft(
            conn,
            DraftId::from_uuid(draft),
            DraftAction::MarkFailed,
            Some(error),
            now,
        )
        .await?;
    }
    Ok(())
}

async fn move_draft(
    conn: &mut PgConnection,
    draft: DraftId,
    action: DraftAction,
    detail: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM drafts WHERE id = $1 FOR UPDATE")
            .bind(draft.as_uuid())
            .fetch_optional(&mut *conn)
            .await?;
    let Some(state) = state else { return Ok(()) };
    let from = DraftState::parse(&state).map_err(|e| anyhow::anyhow!("{e}"))?;
    let to = from.apply(action)?;
    sqlx::query("UPDATE drafts SET state = $2, updated_at = $3 WHERE id = $1")
        .bind(draft.as_uuid())
        .bind(to.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
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
    .await
}

pub async fn counts(conn: &mut PgConnection) -> anyhow::Result<Vec<(OutboxState, u64)>> {
    super::rows::counts_by_state(
        conn,
        "SELECT state, count(*) FROM outbox GROUP BY state",
        &OutboxState::ALL,
        OutboxState::parse,
    )
    .await
}
