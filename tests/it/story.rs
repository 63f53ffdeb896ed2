//! One story, end to end, on each backend: a customer signs up and buys,
//! cancels, writes in; the value figures follow; a manager answers; a
//! duplicate customer is merged.

use std::sync::Arc;

use holdfast::domain::ChannelKind;
use holdfast::pipeline::handlers::Channels;
use holdfast::pipeline::ports::Guarantee;
use serde_json::{Value, json};

use crate::helpers::{Db, RecordingChannel, SendMode, spawn_app};

async fn retention_story(db: Db) {
    let app = spawn_app(db).await;
    let telegram =
        RecordingChannel::new(ChannelKind::Telegram, Guarantee::AtLeastOnce, SendMode::Ok);
    let mut channels = Channels::default();
    channels.register(telegram.clone());
    let w = app.worker("story", Some(channels));

    let who = json!({"id":"S1","phone":"8 (921) 555-12-34","email":"Story@Example.COM"});
    let batch = json!({"events": [
        {"event_id":"s-1","kind":"signup","occurred_at":"2026-03-01T09:00:00+03:00","customer":who,"channel":"web"},
        {"event_id":"s-2","kind":"subscription_started","occurred_at":"2026-03-01T09:05:00+03:00","customer":{"id":"S1"},"amount":"1790","channel":"web"},
        {"event_id":"s-3","kind":"order","occurred_at":"2026-03-01T09:06:00+03:00","customer":{"id":"S1"},"amount":"1790","channel":"web"},
        {"event_id":"s-4","kind":"order","occurred_at":"2026-03-29T07:00:00+03:00","customer":{"id":"S1"},"amount":"1790.50","channel":"web"},
        {"event_id":"s-5","kind":"refund","occurred_at":"2026-04-02T12:00:00+03:00","customer":{"email":"story@example.com"},"amount":"450","channel":"web"},
        {"event_id":"s-6","kind":"subscription_cancelled","occurred_at":"2026-04-20T12:00:00+03:00","customer":{"phone":"+7 921 5551234"},"channel":"web"}
    ]});
    let r = app.post("/api/v1/events", &batch).await;
    assert_eq!(r.status().as_u16(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["accepted"], 6, "{b}");
    let customer_id = b["results"][0]["customer_id"].as_str().unwrap().to_owned();
    for i in 1..6 {
        assert_eq!(
            b["results"][i]["customer_id"],
            customer_id.as_str(),
            "every identifier finds the same customer"
        );
    }
    // The customer writes in from Telegram, giving the same phone.
    let m = json!({"channel":"telegram","external_id":"777:1","thread":"777","customer":{"telegram_id":777,"phone":"89215551234"},
        "text":"I cancelled, but maybe I'd come back for a smaller plan?"});
    let r = app.post("/api/v1/messages", &m).await;
    let msg: Value = r.json().await.unwrap();
    assert_eq!(msg["customer_id"], customer_id.as_str());

    app.drain(&w).await;
    let c = app
        .get_json(&format!("/api/v1/customers/{customer_id}"))
        .await;
    assert_eq!(c["stats"]["orders"], 2);
    assert_eq!(c["stats"]["revenue_minor"], 358_050);
    assert_eq!(c["stats"]["refunds_minor"], 45_000);
    assert_eq!(c["stats"]["subscription"], "cancelled");
    assert_eq!(c["stats"]["events"], 6);
    assert_eq!(c["stats"]["messages"], 1);
    assert_eq!(c["identifiers"]["telegram_id"], 777);

    // Triage hands the message to a manager, who answers.
    let stored = app
        .store
        .message(msg["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let conv = app
        .get_json(&format!("/api/v1/conversations/{}", stored.conversation_id))
        .await;
    assert_eq!(conv["status"], "awaiting_manager");
    let d: Value = app
        .post("/api/v1/drafts", &json!({"conversation_id": conv["id"], "body": "Of course: the Leaf plan is 990 ₽ a box."}))
        .await
        .json()
        .await
        .unwrap();
    let list = app.get_json("/api/v1/drafts?state=proposed").await;
    assert_eq!(list["drafts"][0]["id"], d["id"]);
    app.post(
        &format!("/api/v1/drafts/{}/approve", d["id"].as_str().unwrap()),
        &json!({}),
    )
    .await;
    app.drain(&w).await;
    assert_eq!(telegram.sends().len(), 1);
    let d = app
        .get_json(&format!("/api/v1/drafts/{}", d["id"].as_str().unwrap()))
        .await;
    assert_eq!(d["state"], "sent");

    // Another system created the same person under a second shop id; an
    // event naming both ids records a conflict rather than merging.
    let e = json!({"event_id":"s-7","kind":"login","occurred_at":"2026-04-21T10:00:00+03:00","customer":{"id":"S1-OLD"},"channel":"web"});
    let other: Value = app.post("/api/v1/events", &e).await.json().await.unwrap();
    let other_id = other["customer_id"].as_str().unwrap().to_owned();
    assert_ne!(other_id, customer_id);
    let e = json!({"event_id":"s-8","kind":"login","occurred_at":"2026-04-22T10:00:00+03:00","customer":{"id":"S1-OLD","email":"story@example.com"},"channel":"web"});
    let r: Value = app.post("/api/v1/events", &e).await.json().await.unwrap();
    assert_eq!(
        r["customer_id"],
        other_id.as_str(),
        "the strongest identifier decides"
    );
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap()
            .contains("email belongs to another customer"),
        "{r}"
    );
    let conflicts = app
        .get_json(&format!("/api/v1/customers/{customer_id}/conflicts"))
        .await;
    assert_eq!(conflicts["conflicts"].as_array().unwrap().len(), 1);

    // An operator merges them.
    let r = app
        .post(
            &format!("/api/v1/customers/{customer_id}/merge"),
            &json!({"from": other_id}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["events_moved"], 2);
    assert_eq!(report["conflicts_resolved"], 1);
    let merged = app.get_json(&format!("/api/v1/customers/{other_id}")).await;
    assert_eq!(merged["merged_into"], customer_id.as_str());
    let c = app
        .get_json("/api/v1/customers/lookup?kind=external_id&value=S1")
        .await;
    assert_eq!(c["stats"]["events"], 8);
    assert_eq!(c["open_conflicts"], 0);
    let audit = app.store.audit_log("customer", &customer_id).await.unwrap();
    assert_eq!(audit[0].action, "merge");
    assert!(
        audit[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("external_id=S1-OLD")
    );
    assert_eq!(
        c["aliases"][0]["value"], "S1-OLD",
        "the merged id now finds the survivor"
    );
    let again = app
        .get_json("/api/v1/customers/lookup?kind=external_id&value=S1-OLD")
        .await;
    assert_eq!(again["id"], customer_id.as_str());
    app.stop().await;
    let _ = Arc::strong_count(&telegram);
}
on_both!(retention_story, retention_story);
