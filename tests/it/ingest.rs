//! The ingest API: validation, idempotency, batches, authentication.

use serde_json::{Value, json};

use crate::helpers::{Db, HMAC_SECRET, TOKEN, event, settings, spawn_app, spawn_app_with};

async fn problem(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(ct, "application/problem+json");
    r.json().await.expect("problem body")
}

async fn single_events_are_stored_once(db: Db) {
    let app = spawn_app(db).await;
    let e = event("E1", "C1", "order", Some("890.50"));
    let r = app.post("/api/v1/events", &e).await;
    assert_eq!(r.status().as_u16(), 202);
    let first: Value = r.json().await.unwrap();
    assert_eq!(first["status"], "stored");
    // The same event again is a harmless duplicate with the same ids.
    let r = app.post("/api/v1/events", &e).await;
    assert_eq!(r.status().as_u16(), 200);
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["customer_id"], first["customer_id"]);
    // The same id with other content is refused, naming the field.
    let r = app
        .post("/api/v1/events", &event("E1", "C1", "order", Some("990")))
        .await;
    let p = problem(r, 422).await;
    assert_eq!(p["errors"][0]["field"], "event_id");
    assert_eq!(app.store.count_events().await.unwrap(), 1);
    app.stop().await;
}
on_both!(single_events_are_stored_once, single_events_are_stored_once);

async fn bad_input_gets_field_level_problems(db: Db) {
    let app = spawn_app(db).await;
    let bad = json!({
        "event_id": "E2", "kind": "purchase", "occurred_at": "2026-02-30T10:00:00+03:00",
        "customer": { "id": "C1", "phone": "8 (916) 12З-45-67" }, "amount": "1 690"
    });
    let p = problem(app.post("/api/v1/events", &bad).await, 422).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for f in ["kind", "occurred_at", "phone", "amount"] {
        assert!(fields.contains(&f), "{f} missing in {p}");
    }
    // Unknown fields are named, not ignored.
    let p = problem(app.post("/api/v1/events", &json!({"kind":"login","occurred_at":"2026-01-01T00:00:00Z","customer_id":"C1","ocurred":"x"})).await, 422).await;
    assert!(
        p["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("ocurred"),
        "{p}"
    );
    // Not JSON at all.
    let r = app
        .client
        .post(app.url("/api/v1/events"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    problem(r, 400).await;
    // JSON under the wrong media type.
    let r = app
        .client
        .post(app.url("/api/v1/events"))
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    problem(r, 415).await;
    // A message needs text and a conversational channel.
    let p = problem(
        app.post(
            "/api/v1/messages",
            &json!({"channel":"web","customer":{"id":"C1"},"text":" "}),
        )
        .await,
        422,
    )
    .await;
    assert!(
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "text"),
        "{p}"
    );
    assert_eq!(app.store.count_events().await.unwrap(), 0);
    app.stop().await;
}
on_both!(
    bad_input_gets_field_level_problems,
    bad_input_gets_field_level_problems
);

async fn batches_report_each_item(db: Db) {
    let mut s = settings();
    s.ingest.max_batch = 5;
    let app = spawn_app_with(db, s, None).await;
    let batch = json!({ "events": [
        event("B1", "C1", "signup", None),
        event("B2", "C1", "order", None),
        event("B3", "C2", "order", Some("100")),
    ]});
    let r = app.post("/api/v1/events", &batch).await;
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["accepted"], 2);
    assert_eq!(body["rejected"], 1);
    assert_eq!(body["results"][1]["status"], "rejected");
    assert_eq!(body["results"][1]["errors"][0]["field"], "amount");
    assert_eq!(body["results"][2]["status"], "stored");
    // All bad: 422 with the per-item results.
    let p = problem(
        app.post(
            "/api/v1/events",
            &json!({"events": [event("B9", "C1", "order", None)]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["results"][0]["status"], "rejected");
    // Too many: 413.
    let many: Vec<Value> = (0..6)
        .map(|i| event(&format!("M{i}"), "C1", "login", None))
        .collect();
    problem(
        app.post("/api/v1/events", &json!({ "events": many })).await,
        413,
    )
    .await;
    assert_eq!(app.store.count_events().await.unwrap(), 2);
    app.stop().await;
}
on_both!(batches_report_each_item, batches_report_each_item);

/// PostgreSQL cannot store U+0000, so neither store takes it: the same
/// 422 naming the field on both, and a CSV row with it is rejected by line.
async fn nul_characters_are_refused_by_name(db: Db) {
    let app = spawn_app(db).await;
    let mut e = event("N1", "C1", "page_view", None);
    e["properties"] = json!({ "page": "/ok", "meta": { "tags": ["a", "b\u{0}"] } });
    let p = problem(app.post("/api/v1/events", &e).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "properties.meta.tags[1]", "{p}");
    assert_eq!(p["errors"].as_array().map(Vec::len), Some(1), "{p}");
    // In a batch only the item with the NUL is rejected.
    let mut bad = event("N2", "C1", "login", None);
    bad["channel"] = json!("web\u{0}");
    let batch = json!({ "events": [event("N3", "C1", "login", None), bad] });
    let r = app.post("/api/v1/events", &batch).await;
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["results"][0]["status"], "stored");
    assert_eq!(
        body["results"][1]["errors"][0]["field"], "channel",
        "{body}"
    );
    let p = problem(
        app.post(
            "/api/v1/messages",
            &json!({"channel":"widget","customer":{"id":"C1"},"text":"hi\u{0}"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "text", "{p}");
    // A CSV row with a NUL is rejected with its line; the others import.
    let csv = "event_id,customer_id,kind,occurred_at\n\
               N4,C1,login,2026-05-01T10:00:00Z\n\
               N5,C\u{0}2,login,2026-05-01T10:00:00Z\n";
    let report = holdfast::pipeline::import::import_events(
        &app.store,
        &holdfast::pipeline::parse::IngestPolicy::default(),
        3,
        std::io::Cursor::new(csv),
        &holdfast::pipeline::import::ImportOptions::default(),
        &|_| {},
    )
    .await
    .expect("import runs");
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].line, 3);
    assert!(
        report.errors[0]
            .error
            .contains("customer_id: contains a NUL"),
        "{:?}",
        report.errors
    );
    assert_eq!(app.store.count_events().await.unwrap(), 2);
    app.stop().await;
}
on_both!(
    nul_characters_are_refused_by_name,
    nul_characters_are_refused_by_name
);

async fn idempotency_keys_replay_or_refuse(db: Db) {
    let app = spawn_app(db).await;
    // No event_id: only the key protects this request from double effects.
    let body = json!({"kind":"login","occurred_at":"2026-01-01T10:00:00Z","customer_id":"C7"});
    let r1 = app.post_with_key("/api/v1/events", "key-1", &body).await;
    assert_eq!(r1.status().as_u16(), 202);
    let b1 = r1.text().await.unwrap();
    let r2 = app.post_with_key("/api/v1/events", "key-1", &body).await;
    assert_eq!(r2.status().as_u16(), 202);
    assert_eq!(r2.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(r2.text().await.unwrap(), b1);
    assert_eq!(app.store.count_events().await.unwrap(), 1);
    let other = json!({"kind":"login","occurred_at":"2026-01-02T10:00:00Z","customer_id":"C7"});
    let p = problem(
        app.post_with_key("/api/v1/events", "key-1", &other).await,
        422,
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("different request body")
    );
    assert_eq!(app.store.count_events().await.unwrap(), 1);
    app.stop().await;
}
on_both!(
    idempotency_keys_replay_or_refuse,
    idempotency_keys_replay_or_refuse
);

async fn callers_must_authenticate(db: Db) {
    let app = spawn_app(db).await;
    let body = serde_json::to_vec(&event("A1", "C1", "login", None)).unwrap();
    let send = |auth: Option<(&'static str, String)>| {
        let mut rb = app
            .client
            .post(app.url("/api/v1/events"))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some((h, v)) = auth {
            rb = rb.header(h, v);
        }
        rb.send()
    };
    problem(send(None).await.unwrap(), 401).await;
    problem(
        send(Some((
            "authorization",
            "Bearer wrong-token-000000000".into(),
        )))
        .await
        .unwrap(),
        401,
    )
    .await;
    let now = chrono::Utc::now().timestamp();
    let sig = holdfast::http::auth::sign(HMAC_SECRET, now, &body);
    assert_eq!(
        send(Some(("x-holdfast-signature", sig)))
            .await
            .unwrap()
            .status()
            .as_u16(),
        202
    );
    let forged = holdfast::http::auth::sign("another-secret", now, &body);
    problem(
        send(Some(("x-holdfast-signature", forged))).await.unwrap(),
        401,
    )
    .await;
    let stale = holdfast::http::auth::sign(HMAC_SECRET, now - 3600, &body);
    problem(
        send(Some(("x-holdfast-signature", stale))).await.unwrap(),
        401,
    )
    .await;
    // Reads need a token too.
    let r = app
        .client
        .get(app.url("/api/v1/jobs"))
        .send()
        .await
        .unwrap();
    problem(r, 401).await;
    app.stop().await;
}
on_both!(callers_must_authenticate, callers_must_authenticate);

async fn messy_identifiers_normalise_and_match(db: Db) {
    let app = spawn_app(db).await;
    let e = json!({"event_id":"N1","kind":"signup","occurred_at":"2026-01-01T10:00:00+03:00",
        "customer":{"id":"C9","phone":"8 (916) 123-45-67","email":"  Ivan.Petrov@Mail.Example ","telegram_username":"@Ivan_Tea"}});
    assert_eq!(app.post("/api/v1/events", &e).await.status().as_u16(), 202);
    let c = app
        .get_json("/api/v1/customers/lookup?kind=phone&value=%2B7%20916%201234567")
        .await;
    assert_eq!(c["identifiers"]["phone"], "+79161234567");
    assert_eq!(c["identifiers"]["email"], "ivan.petrov@mail.example");
    assert_eq!(c["identifiers"]["telegram_username"], "ivan_tea");
    // A message from the same phone joins the same customer.
    let m = json!({"channel":"telegram","external_id":"100:1","thread":"100","customer":{"phone":"89161234567","telegram_id":100},"text":"Привет!"});
    let r = app.post("/api/v1/messages", &m).await;
    assert_eq!(r.status().as_u16(), 202);
    let stored: Value = r.json().await.unwrap();
    assert_eq!(stored["customer_id"], c["id"]);
    app.stop().await;
}
on_both!(
    messy_identifiers_normalise_and_match,
    messy_identifiers_normalise_and_match
);

async fn operations_endpoints(db: Db) {
    let app = spawn_app(db).await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers().contains_key("x-request-id"),
        "every response carries a request id"
    );
    let ready: Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    app.post("/api/v1/events", &event("O1", "C1", "order", Some("100")))
        .await;
    let m = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The order updates the customer's value figures and joins their history.
    assert!(m.contains("holdfast_queue_jobs{state=\"queued\"} 2"), "{m}");
    assert!(
        m.contains("holdfast_ingest_ack_latency_seconds_count 1"),
        "{m}"
    );
    assert!(
        m.contains("holdfast_ingest_items_total{kind=\"event\",outcome=\"stored\"} 1"),
        "{m}"
    );
    assert!(m.contains("route=\"/api/v1/events\""), "{m}");
    let r = app.client.get(app.url("/nope")).send().await.unwrap();
    problem(r, 404).await;
    app.stop().await;
}
on_both!(operations_endpoints, operations_endpoints);
