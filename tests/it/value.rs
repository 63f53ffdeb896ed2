//! Customer value in the product: incremental summaries through the queue,
//! a refit that writes a model version and rescores everyone, scores in the
//! customer API, and unit economics with marketing spend.

use std::io::BufReader;

use holdfast::domain::IdKind;
use holdfast::pipeline::import::{ImportOptions, import_customers, import_events};
use holdfast::pipeline::parse::IngestPolicy;
use holdfast::pipeline::queue::{JobKind, NewJob};
use serde_json::{Value, json};

use crate::helpers::{Db, shared, spawn_app};

async fn value_follows_purchases(db: Db) {
    let app = spawn_app(db).await;
    let policy = IngestPolicy::default();
    let open = |f: &str| BufReader::new(std::fs::File::open(shared(f)).unwrap());
    import_customers(
        &app.store,
        &policy,
        open("eval/customers/profiles.csv"),
        "profiles",
        &ImportOptions::default(),
        &|_| {},
    )
    .await
    .unwrap();
    import_events(
        &app.store,
        &policy,
        3,
        open("eval/customers/events.csv"),
        &ImportOptions::default(),
        &|_| {},
    )
    .await
    .unwrap();
    let w = app.worker("value", None);
    app.drain(&w).await;

    // Before any model: summaries and behaviour figures, no scores.
    let id = app
        .store
        .find_customer(IdKind::External, "C002")
        .await
        .unwrap()
        .unwrap();
    let c = app.get_json(&format!("/api/v1/customers/{id}")).await;
    assert!(c["value"]["purchases"].as_u64().unwrap() > 5, "{c}");
    assert!(c["value"]["rhythm_days"].as_f64().is_some());
    assert!(c["value"]["p_alive"].is_null());
    assert!(
        c["value"]["note"]
            .as_str()
            .unwrap()
            .contains("no customer-value model")
    );

    // The refit is de-duplicated while one waits.
    let job = || NewJob::now(JobKind::ClvRefit, json!({}), 3);
    assert!(app.store.enqueue_unique(job(), "clv_refit").await.unwrap());
    assert!(!app.store.enqueue_unique(job(), "clv_refit").await.unwrap());
    app.drain(&w).await;
    let (version, params, _) = app
        .store
        .active_clv_model()
        .await
        .unwrap()
        .expect("a model was fitted");
    assert_eq!(version, 1);
    assert!(params.gamma_gamma.is_some());
    assert!(
        app.store.enqueue_unique(job(), "clv_refit").await.unwrap(),
        "finished jobs do not block"
    );

    // Everyone is scored; loyal subscribers look more alive than churned ones.
    let archetypes = std::fs::read_to_string(shared("eval/customers/profiles.csv")).unwrap();
    let mut alive: std::collections::HashMap<String, Vec<f64>> = Default::default();
    for line in archetypes.lines().skip(1) {
        let mut f = line.split(',');
        let (cid, arch) = (f.next().unwrap(), f.next().unwrap());
        let Some(id) = app
            .store
            .find_customer(IdKind::External, cid)
            .await
            .unwrap()
        else {
            continue;
        };
        let c = app.get_json(&format!("/api/v1/customers/{id}")).await;
        if let Some(p) = c["value"]["p_alive"].as_f64() {
            assert!((0.0..=1.0).contains(&p));
            assert_eq!(c["value"]["model_version"], 1);
            assert!(c["value"]["clv"].as_f64().unwrap() >= 0.0);
            alive.entry(arch.to_owned()).or_default().push(p);
        }
    }
    let mean = |k: &str| {
        let v = &alive[k];
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(
        mean("loyal_subscriber") > mean("churned_subscriber"),
        "{alive:?}"
    );

    // A new order rescores that customer with the current version, no refit.
    let id = app
        .store
        .find_customer(IdKind::External, "C060")
        .await
        .unwrap()
        .unwrap();
    let before = app.get_json(&format!("/api/v1/customers/{id}")).await["value"]["purchases"]
        .as_u64()
        .unwrap_or(0);
    let e = json!({"event_id":"V1","kind":"order","occurred_at":"2026-11-01T10:00:00+03:00","customer":{"id":"C060"},"amount":"890","channel":"web"});
    assert_eq!(app.post("/api/v1/events", &e).await.status().as_u16(), 202);
    app.drain(&w).await;
    let c = app.get_json(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(c["value"]["purchases"].as_u64().unwrap(), before + 1);
    // The second refit enqueued above ran in this drain too.
    let (active, _, _) = app.store.active_clv_model().await.unwrap().unwrap();
    assert_eq!(c["value"]["model_version"], active);
    app.stop().await;
}
on_both!(value_follows_purchases, value_follows_purchases);

async fn unit_economics(db: Db) {
    let app = spawn_app(db).await;
    let policy = IngestPolicy::default();
    let open = |f: &str| BufReader::new(std::fs::File::open(shared(f)).unwrap());
    import_events(
        &app.store,
        &policy,
        3,
        open("eval/customers/events.csv"),
        &ImportOptions::default(),
        &|_| {},
    )
    .await
    .unwrap();
    let spend = json!({"spend": [
        {"channel":"import","period_start":"2026-01-01","period_end":"2026-07-01","amount":"120000"},
        {"channel":"web","period_start":"2026-01-01","period_end":"2026-07-01","amount":"60000.50","currency":"RUB"}
    ]});
    let r = app.post("/api/v1/marketing-spend", &spend).await;
    assert_eq!(r.status().as_u16(), 200);
    let bad = app.post("/api/v1/marketing-spend", &json!({"channel":"x","period_start":"2026-02-01","period_end":"2026-01-01","amount":"1"})).await;
    assert_eq!(bad.status().as_u16(), 422);
    let e: Value = app
        .get_json("/api/v1/metrics/economics?from=2026-01-01&to=2026-07-01")
        .await;
    assert_eq!(e["currency"], "RUB");
    assert!(e["orders"].as_u64().unwrap() > 100);
    assert!(e["average_check_minor"].as_f64().unwrap() > 80_000.0, "{e}");
    assert!(
        (e["spend_minor"].as_f64().unwrap() - 18_000_050.0).abs() < 1.0,
        "{e}"
    );
    assert!(e["monthly_churn"].as_f64().unwrap() > 0.0, "{e}");
    assert!(e["ltv_churn_minor"].as_f64().is_some());
    assert_eq!(e["churn_by_month"].as_array().unwrap().len(), 6);
    assert!(!e["cohorts"].as_array().unwrap().is_empty());
    let r = app
        .get("/api/v1/metrics/economics?from=2026-07-01&to=2026-01-01")
        .await;
    assert_eq!(r.status().as_u16(), 422);
    app.stop().await;
}
on_both!(unit_economics, unit_economics);
