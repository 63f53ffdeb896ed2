//! Drafts through the outbox: approved replies are delivered and marked
//! sent exactly once, through retries, failures and a crash between the
//! send and the mark.

use std::sync::Arc;
use std::time::Duration;

use holdfast::domain::ChannelKind;
use holdfast::pipeline::handlers::Channels;
use holdfast::pipeline::ports::Guarantee;
use holdfast::pipeline::views::OutboxState;
use serde_json::{Value, json};

use crate::helpers::{Db, RecordingChannel, SendMode, TestApp, spawn_app};

/// Stores an inbound Telegram message and proposes a reply; returns the draft id.
async fn proposed_draft(app: &TestApp, n: u32) -> String {
    let m = json!({"channel":"telegram","external_id":format!("555:{n}"),"thread":"555",
        "customer":{"telegram_id":555,"id":"C55"},"text":"Когда придёт моя коробка?"});
    let r = app.post("/api/v1/messages", &m).await;
    assert_eq!(r.status().as_u16(), 202);
    let msg: Value = r.json().await.unwrap();
    let customer = app
        .get_json(&format!(
            "/api/v1/customers/{}",
            msg["customer_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(customer["stats"]["messages"], 1);
    let stored = app
        .store
        .message(msg["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let r = app
        .post("/api/v1/drafts", &json!({"conversation_id": stored.conversation_id.to_string(), "body": "Завтра до 18:00.", "in_reply_to": msg["id"]}))
        .await;
    assert_eq!(r.status().as_u16(), 201);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["state"], "proposed");
    d["id"].as_str().unwrap().to_owned()
}

fn channels(ch: &Arc<RecordingChannel>) -> Channels {
    let mut c = Channels::default();
    c.register(ch.clone());
    c
}

async fn approved_drafts_are_delivered_once(db: Db) {
    let app = spawn_app(db).await;
    let ch = RecordingChannel::new(
        ChannelKind::Telegram,
        Guarantee::AtLeastOnce,
        SendMode::FailTimes(2),
    );
    let w = app.worker("w", Some(channels(&ch)));
    let id = proposed_draft(&app, 1).await;
    let r = app
        .post(&format!("/api/v1/drafts/{id}/approve"), &json!({}))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let d: Value = r.json().await.unwrap();
    assert_eq!(
        d["state"], "queued",
        "approval queues the delivery in the same transaction"
    );
    // Two temporary failures, then success: retried with backoff.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        app.drain(&w).await;
        let d = app.get_json(&format!("/api/v1/drafts/{id}")).await;
        if d["state"] == "sent" {
            let actions: Vec<&str> = d["history"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["action"].as_str().unwrap())
                .collect();
            assert_eq!(actions, ["create", "approve", "queue", "mark_sent"]);
            assert_eq!(d["history"][1]["actor"], "tester");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never sent: {d}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ch.sends().len(), 1);
    assert_eq!(*ch.calls.lock().unwrap(), 3);
    // The outbound message joins the conversation.
    let d = app.get_json(&format!("/api/v1/drafts/{id}")).await;
    let conv = app
        .get_json(&format!(
            "/api/v1/conversations/{}",
            d["conversation_id"].as_str().unwrap()
        ))
        .await;
    let dirs: Vec<&str> = conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["direction"].as_str().unwrap())
        .collect();
    assert_eq!(dirs, ["in", "out"]);
    // A decided draft cannot be decided again.
    let r = app
        .post(
            &format!("/api/v1/drafts/{id}/reject"),
            &json!({"reason":"late"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 409);
    app.stop().await;
}
on_both!(
    approved_drafts_are_delivered_once,
    approved_drafts_are_delivered_once
);

async fn permanent_failures_fail_the_draft_until_requeued(db: Db) {
    let app = spawn_app(db).await;
    let ch = RecordingChannel::new(
        ChannelKind::Telegram,
        Guarantee::AtLeastOnce,
        SendMode::Permanent,
    );
    let w = app.worker("w", Some(channels(&ch)));
    let id = proposed_draft(&app, 2).await;
    let r = app
        .post(
            &format!("/api/v1/drafts/{id}/edit"),
            &json!({"body":"Исправленный ответ"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    app.drain(&w).await;
    let d = app.get_json(&format!("/api/v1/drafts/{id}")).await;
    assert_eq!(d["state"], "failed");
    assert_eq!(d["body"], "Исправленный ответ");
    assert_eq!(d["original_body"], "Завтра до 18:00.");
    ch.set_mode(SendMode::Ok);
    let r = app
        .post(&format!("/api/v1/drafts/{id}/requeue"), &json!({}))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    app.drain(&w).await;
    let d = app.get_json(&format!("/api/v1/drafts/{id}")).await;
    assert_eq!(d["state"], "sent");
    assert_eq!(
        ch.sends(),
        vec![("draft:".to_owned() + &id, "Исправленный ответ".to_owned())]
    );
    app.stop().await;
}
on_both!(
    permanent_failures_fail_the_draft_until_requeued,
    permanent_failures_fail_the_draft_until_requeued
);

/// A worker sends, then dies before marking: the next worker must not send
/// again on an exactly-once channel, and sends once more on an
/// at-least-once one (documented in ARCHITECTURE.md).
async fn crash_between_send_and_mark(db: Db, guarantee: Guarantee, expected_sends: usize) {
    let app = spawn_app(db).await;
    let ch = RecordingChannel::new(ChannelKind::Telegram, guarantee, SendMode::HangAfterSend);
    let id = proposed_draft(&app, 3).await;
    app.post(&format!("/api/v1/drafts/{id}/approve"), &json!({}))
        .await;
    let doomed = app.worker("doomed", Some(channels(&ch)));
    let task = tokio::spawn(async move { doomed.run_once().await });
    // Wait until it has sent, then kill it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while ch.sends().is_empty() {
        assert!(std::time::Instant::now() < deadline, "never sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    let counts = app.store.outbox_counts().await.unwrap();
    assert!(counts.contains(&(OutboxState::Sending, 1)), "{counts:?}");
    ch.set_mode(SendMode::Ok);
    // After the 2 s lease, another worker picks the job up.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let survivor = app.worker("survivor", Some(channels(&ch)));
    app.drain(&survivor).await;
    let d = app.get_json(&format!("/api/v1/drafts/{id}")).await;
    assert_eq!(d["state"], "sent");
    assert_eq!(ch.sends().len(), expected_sends);
    let counts = app.store.outbox_counts().await.unwrap();
    assert!(counts.contains(&(OutboxState::Sent, 1)), "{counts:?}");
    app.stop().await;
}

async fn crash_exactly_once(db: Db) {
    crash_between_send_and_mark(db, Guarantee::ExactlyOnce, 1).await
}
async fn crash_at_least_once(db: Db) {
    crash_between_send_and_mark(db, Guarantee::AtLeastOnce, 2).await
}
on_both!(crash_before_mark_exactly_once_channel, crash_exactly_once);
on_both!(crash_before_mark_at_least_once_channel, crash_at_least_once);

/// A manager's text is refused with a 422 naming the field when it holds a
/// NUL, which no store can keep (not a 500 on PostgreSQL), and nothing
/// changes; the six characters `\u0000` typed as text are just text.
async fn operator_text_with_nul_is_refused(db: Db) {
    let app = spawn_app(db).await;
    let id = proposed_draft(&app, 4).await;
    for (action, body, field) in [
        ("edit", json!({"body": "Завтра\u{0} до 18:00"}), "body"),
        ("reject", json!({"reason": "spam\u{0}"}), "reason"),
    ] {
        let r = app
            .post(&format!("/api/v1/drafts/{id}/{action}"), &body)
            .await;
        assert_eq!(r.status().as_u16(), 422, "{action}");
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/problem+json"
        );
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["errors"][0]["field"], field, "{p:#}");
        assert!(
            p["errors"][0]["reason"].as_str().unwrap().contains("NUL"),
            "{p:#}"
        );
    }
    let d = app.get_json(&format!("/api/v1/drafts/{id}")).await;
    assert_eq!(d["state"], "proposed");
    let r = app
        .post(
            &format!("/api/v1/drafts/{id}/edit"),
            &json!({"body": "escape \\u0000 shown as text"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let d = app.get_json(&format!("/api/v1/drafts/{id}")).await;
    assert_eq!(d["body"], "escape \\u0000 shown as text");
    app.stop().await;
}
on_both!(
    operator_text_with_nul_is_refused,
    operator_text_with_nul_is_refused
);
