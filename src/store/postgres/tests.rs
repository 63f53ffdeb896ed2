//! Backend-specific checks against the local PostgreSQL (127.0.0.1:5432,
//! or HOLDFAST_TEST_PG_URL): the bulk ingest path gives exactly what the
//! row-by-row path gives, and concurrent transactions creating the same
//! customers neither fail nor duplicate them.

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::{IdKind, Timestamp};
use crate::pipeline::parse::{IngestPolicy, RawEvent, RawIdentity, event};
use crate::pipeline::ports::Store;
use crate::pipeline::records::{IdempotencyKey, IngestItem, IngestRequest, IngestResult, Record};
use crate::pipeline::routing;
use crate::store::pg_admin::ScratchDatabase;

use super::{PgStore, bulk, ingest};

fn admin_url() -> String {
    std::env::var("HOLDFAST_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn fresh() -> (ScratchDatabase, PgStore) {
    let db = ScratchDatabase::create(&admin_url(), "holdfast_unit")
        .await
        .expect("PostgreSQL reachable");
    let store = PgStore::connect(&db.url, 4).await.unwrap();
    store.migrate().await.unwrap();
    (db, store)
}

fn item(id: &str, ext: Option<&str>, email: Option<&str>, kind: &str) -> IngestItem {
    let raw = RawEvent {
        event_id: Some(id.into()),
        customer: RawIdentity {
            external_id: ext.map(Into::into),
            email: email.map(Into::into),
            ..Default::default()
        },
        kind: kind.into(),
        occurred_at: "2026-05-01T10:00:00+03:00".into(),
        amount: (kind == "order").then(|| "12.50".into()),
        currency: None,
        channel: Some("web".into()),
        properties: Default::default(),
    };
    let e = event(raw, &IngestPolicy::default(), Timestamp::now()).unwrap();
    let id = uuid::Uuid::now_v7();
    let record = Record::Event(e);
    let jobs = routing::jobs_for(id, &record, 3);
    IngestItem { id, record, jobs }
}

fn req(items: Vec<IngestItem>, key: Option<(&str, &str)>) -> IngestRequest {
    IngestRequest {
        idempotency: key.map(|(k, d)| IdempotencyKey {
            scope: "events",
            key: k.into(),
            request_digest: d.into(),
        }),
        items: items.into_iter().map(Ok).collect(),
    }
}

/// Requests that exercise every branch of ingest within one batch.
fn tricky() -> Vec<IngestRequest> {
    vec![
        req(vec![item("E1", Some("A"), Some("a@x.com"), "order")], None),
        req(vec![item("E2", None, Some("a@x.com"), "login")], None),
        // Same content again: a duplicate; other content: rejected.
        req(vec![item("E1", Some("A"), Some("a@x.com"), "order")], None),
        req(vec![item("E1", Some("A"), Some("a@x.com"), "login")], None),
        // B claims A's email: a new customer and a conflict, recorded once.
        req(vec![item("E3", Some("B"), Some("a@x.com"), "login")], None),
        req(vec![item("E4", Some("B"), Some("a@x.com"), "order")], None),
        // A with a second email: a conflict, nothing attached.
        req(
            vec![item("E5", Some("A"), Some("other@x.com"), "login")],
            None,
        ),
        req(
            vec![
                item("E6", Some("C"), None, "order"),
                item("E7", Some("C"), Some("c@x.com"), "login"),
            ],
            Some(("k1", "d1")),
        ),
        req(
            vec![item("E6", Some("C"), None, "order")],
            Some(("k1", "d1")),
        ),
        req(
            vec![item("E8", Some("C"), None, "order")],
            Some(("k1", "d2")),
        ),
        IngestRequest {
            idempotency: None,
            items: vec![Err(vec![])],
        },
    ]
}

/// Replaces every UUID by its order of first appearance, so results from
/// two databases (with their own random ids) can be compared.
fn canonical(text: &str) -> String {
    let re =
        regex::Regex::new("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap();
    let mut seen: HashMap<String, usize> = HashMap::new();
    re.replace_all(text, |c: &regex::Captures<'_>| {
        let n = seen.len();
        format!("#{}", seen.entry(c[0].to_owned()).or_insert(n))
    })
    .into_owned()
}

/// The stored state that matters, with ids canonicalised.
async fn state(store: &PgStore) -> String {
    let mut out = String::new();
    for (kind, value) in [
        (IdKind::External, "A"),
        (IdKind::External, "B"),
        (IdKind::External, "C"),
        (IdKind::Email, "a@x.com"),
        (IdKind::Email, "c@x.com"),
    ] {
        let c = store.find_customer(kind, value).await.unwrap().unwrap();
        let v = store.customer(c).await.unwrap().unwrap();
        out.push_str(&format!(
            "{kind:?}={value} -> {c} events={} orders={} last={:?} conflicts={} aliases={:?}\n",
            v.stats.events,
            v.stats.orders,
            v.stats.last_event_at.map(|t| t.unix_micros()),
            v.open_conflicts,
            v.aliases
        ));
    }
    let conflicts = store.conflicts(None).await.unwrap();
    out.push_str(&format!(
        "conflicts={} events={} jobs={:?}\n",
        conflicts.len(),
        store.count_events().await.unwrap(),
        store.job_counts().await.unwrap()
    ));
    out
}

fn results(r: Vec<anyhow::Result<IngestResult>>) -> Vec<IngestResult> {
    r.into_iter().map(|r| r.unwrap()).collect()
}

/// The bulk path alone (no fallback), committed.
async fn bulk_only(store: &PgStore, requests: &[IngestRequest]) -> Vec<IngestResult> {
    assert!(bulk::eligible(requests));
    let mut tx = store.pool.begin().await.unwrap();
    let out = bulk::run(&mut tx, requests, Timestamp::now().unix_micros())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    out
}

#[tokio::test]
async fn bulk_and_row_by_row_paths_agree() {
    let (db1, bulk) = fresh().await;
    let (db2, rows) = fresh().await;
    let requests = tricky();
    let a = bulk_only(&bulk, &requests).await;
    let b = results(ingest::rows(&rows.pool, requests).await.unwrap());
    assert_eq!(canonical(&format!("{a:?}")), canonical(&format!("{b:?}")));
    assert!(
        matches!(a[2], IngestResult::Fresh(ref o) if matches!(o[0], crate::pipeline::records::ItemOutcome::Duplicate { .. }))
    );
    assert!(matches!(a[8], IngestResult::Replayed(_)));
    assert!(matches!(a[9], IngestResult::KeyReused));
    // A second batch against what is stored now (the bulk path reads it up
    // front; the row path as it goes).
    let more = vec![
        req(vec![item("E9", None, Some("a@x.com"), "order")], None),
        req(vec![item("E1", Some("A"), Some("a@x.com"), "order")], None),
        req(vec![item("E10", Some("B"), Some("b@x.com"), "login")], None),
        req(vec![item("E11", Some("D"), Some("b@x.com"), "login")], None),
        req(
            vec![item("E6", Some("C"), None, "order")],
            Some(("k1", "d1")),
        ),
    ];
    let a2 = bulk_only(&bulk, &more).await;
    let b2 = results(ingest::rows(&rows.pool, more).await.unwrap());
    assert_eq!(
        canonical(&format!("{a:?}{a2:?}")),
        canonical(&format!("{b:?}{b2:?}"))
    );
    assert_eq!(
        canonical(&state(&bulk).await),
        canonical(&state(&rows).await)
    );
    bulk.close().await;
    rows.close().await;
    db1.drop_now().await.unwrap();
    db2.drop_now().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_creating_the_same_customers_do_not_collide() {
    let (db, first) = fresh().await;
    let second = PgStore::connect(&db.url, 4).await.unwrap();
    let stores = [Arc::new(first), Arc::new(second)];
    let mut set = tokio::task::JoinSet::new();
    for t in 0..8 {
        let store = stores[t % 2].clone();
        set.spawn(async move {
            for round in 0..5 {
                let batch: Vec<IngestRequest> = (0..20)
                    .map(|i| {
                        let c = format!("R{}", (i + round) % 20);
                        let email = format!("r{}@x.com", (i + round) % 20);
                        req(
                            vec![item(
                                &format!("T{t}-{round}-{i}"),
                                Some(&c),
                                Some(&email),
                                "login",
                            )],
                            None,
                        )
                    })
                    .collect();
                // Half the tasks take the row-by-row path, which must be
                // just as safe against the same races.
                if t % 4 < 2 {
                    store.ingest(batch).await.unwrap();
                } else {
                    let results = ingest::rows(&store.pool, batch).await.unwrap();
                    assert!(results.iter().all(|r| r.is_ok()));
                }
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let store = &stores[0];
    assert_eq!(store.count_events().await.unwrap(), 8 * 5 * 20);
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(customers, 20, "one customer per identity");
    let conflicts = store.conflicts(None).await.unwrap();
    assert!(conflicts.is_empty(), "{conflicts:?}");
    for i in 0..20 {
        let c = store
            .find_customer(IdKind::External, &format!("R{i}"))
            .await
            .unwrap()
            .unwrap();
        let v = store.customer(c).await.unwrap().unwrap();
        assert_eq!(v.stats.events, 40, "{i}: {v:?}");
        assert!(v.aliases.is_empty());
    }
    for s in &stores {
        s.close().await;
    }
    db.drop_now().await.unwrap();
}
