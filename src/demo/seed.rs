//! The demo shop's customers and history, generated from a fixed seed so
//! every demo looks the same, dated relative to today so it looks current.
//! Phones, emails and usernames are deliberately messy: the demo exercises
//! the same normalisation as real input.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::cast::{Archetype, Customer, NAMES, PLANS, demo_messages, messy_phone, translit};
use crate::domain::Timestamp;
use crate::knowledge::Source;
use crate::pipeline::parse::{self, IngestPolicy, RawEvent, RawIdentity, RawMessage, RawProfile};
use crate::pipeline::ports::Store;
use crate::pipeline::records::{IngestItem, IngestRequest, ItemOutcome, Record};
use crate::pipeline::routing;

#[derive(Debug, Default, Clone)]
pub struct SeedReport {
    pub customers: usize,
    pub events: usize,
    pub messages: usize,
    /// Every stored record (event or message, id), for the history index.
    pub stored: Vec<(Source, uuid::Uuid)>,
}

fn at(days_ago: f64, now: i64) -> String {
    let micros = now - (days_ago * 86_400e6) as i64;
    // Moscow time, as the shop's systems write it.
    Timestamp::from_parts(micros - micros % 1_000_000, 3 * 3600).to_string()
}

/// Seeds customers, ~6 months of events and a few recent messages.
pub async fn seed(
    store: &Arc<dyn Store>,
    policy: &IngestPolicy,
    max_attempts: u32,
) -> anyhow::Result<SeedReport> {
    let mut rng = StdRng::seed_from_u64(20_261_123);
    let now = Timestamp::now().unix_micros() - 3_600_000_000;
    let archetypes = [
        (Archetype::Loyal, 10),
        (Archetype::Fading, 7),
        (Archetype::New, 7),
        (Archetype::Churned, 6),
        (Archetype::AtRisk, 6),
        (Archetype::Gifter, 4),
    ];
    let mut customers = Vec::new();
    let mut profiles = Vec::new();
    for (arch, n) in archetypes {
        for _ in 0..n {
            let k = customers.len() + 1;
            let id = format!("P{k:03}");
            let (firsts, lasts) = NAMES[rng.random_range(0..NAMES.len())];
            let first = firsts[rng.random_range(0..firsts.len())];
            let last = lasts[rng.random_range(0..lasts.len())];
            let mail_local = format!(
                "{}.{}{}",
                translit(first),
                translit(last),
                rng.random_range(1..99)
            );
            let email = match rng.random_range(0..3) {
                0 => format!("{mail_local}@Mail.example"),
                1 => format!("  {}@inbox.example ", mail_local.to_uppercase()),
                _ => format!("{mail_local}@yandex.example"),
            };
            let tg = match rng.random_range(0..3) {
                0 => Some(format!("@{}_{}", translit(first), k)),
                1 => Some(format!("{}{}Tea", translit(last), k)),
                _ => None,
            };
            profiles.push((
                RawProfile {
                    customer: RawIdentity {
                        external_id: Some(id.clone()),
                        phone: Some(messy_phone(&mut rng)),
                        email: Some(email),
                        telegram_username: tg,
                        ..Default::default()
                    },
                    name: Some(format!("{first} {last}")),
                },
                id.clone(),
            ));
            customers.push(Customer { id, arch });
        }
    }
    let mut new_profiles = Vec::new();
    for (raw, id) in profiles {
        let p =
            parse::profile(raw, policy).map_err(|e| anyhow::anyhow!("demo profile {id}: {e:?}"))?;
        new_profiles.push((p, format!("demo {id}")));
    }
    let report_customers = new_profiles.len();
    store.upsert_profiles(new_profiles).await?;

    let mut events: Vec<RawEvent> = Vec::new();
    let mut seq = 0u32;
    let mut push = |events: &mut Vec<RawEvent>,
                    c: &Customer,
                    kind: &str,
                    days_ago: f64,
                    amount: Option<&str>,
                    channel: &str| {
        // Follow-ups of the most recent orders (deliveries, refunds) would
        // fall in the future: they have not happened yet.
        if days_ago < 0.05 {
            return;
        }
        seq += 1;
        events.push(RawEvent {
            event_id: Some(format!("demo-{seq:05}")),
            customer: RawIdentity {
                external_id: Some(c.id.clone()),
                ..Default::default()
            },
            kind: kind.into(),
            occurred_at: at(days_ago, now),
            amount: amount.map(Into::into),
            currency: Some("RUB".into()),
            channel: Some(channel.into()),
            properties: Default::default(),
        });
    };
    for c in &customers {
        let start = match c.arch {
            Archetype::New => rng.random_range(3.0..40.0),
            _ => rng.random_range(120.0..185.0),
        };
        push(&mut events, c, "signup", start, None, "web");
        let plan = PLANS[rng.random_range(0..3usize)];
        let every = if rng.random_bool(0.5) { 14.0 } else { 28.0 };
        match c.arch {
            Archetype::Loyal | Archetype::AtRisk | Archetype::Churned => {
                push(
                    &mut events,
                    c,
                    "subscription_started",
                    start - 0.2,
                    Some(plan.1),
                    "web",
                );
                let end = match c.arch {
                    Archetype::Churned => rng.random_range(10.0..60.0),
                    Archetype::AtRisk => rng.random_range(20.0..35.0),
                    _ => 0.5,
                };
                let mut d = start - 0.3;
                while d > end {
                    push(&mut events, c, "order", d, Some(plan.1), "web");
                    push(&mut events, c, "delivery", d - 2.0, None, "import");
                    if rng.random_bool(0.6) {
                        push(&mut events, c, "email_open", d - 3.0, None, "email");
                    }
                    if rng.random_bool(0.05) {
                        push(&mut events, c, "refund", d - 6.0, Some("450"), "web");
                    }
                    d -= every;
                }
                match c.arch {
                    Archetype::Churned => push(
                        &mut events,
                        c,
                        "subscription_cancelled",
                        end - 1.0,
                        None,
                        "web",
                    ),
                    Archetype::AtRisk => push(
                        &mut events,
                        c,
                        "subscription_paused",
                        end - 1.0,
                        None,
                        "telegram",
                    ),
                    _ => {}
                }
            }
            Archetype::Fading => {
                let mut gap = rng.random_range(10.0..20.0);
                let mut d = start - 1.0;
                while d > 1.0 {
                    let amount = format!("{}", rng.random_range(4..16) * 100 - 10);
                    push(&mut events, c, "order", d, Some(&amount), "web");
                    push(&mut events, c, "delivery", d - 3.0, None, "import");
                    d -= gap;
                    gap *= 1.5;
                }
            }
            Archetype::New => {
                if rng.random_bool(0.6) {
                    push(&mut events, c, "order", start - 1.0, Some("1290"), "web");
                    push(&mut events, c, "delivery", start - 3.0, None, "import");
                }
                push(&mut events, c, "login", start - 2.0, None, "web");
            }
            Archetype::Gifter => {
                for d in [150.0, 100.0, 30.0] {
                    if d < start {
                        push(&mut events, c, "order", d, Some("3000"), "web");
                    }
                }
                push(&mut events, c, "referral", start - 5.0, None, "web");
            }
        }
    }
    let now_ts = Timestamp::now();
    let mut report = SeedReport {
        customers: report_customers,
        ..Default::default()
    };
    let mut batch = Vec::new();
    for raw in events {
        let e =
            parse::event(raw, policy, now_ts).map_err(|e| anyhow::anyhow!("demo event: {e:?}"))?;
        batch.push(item(Record::Event(e), max_attempts));
    }
    for chunk in batch.chunks(500) {
        let requests = chunk
            .iter()
            .cloned()
            .map(|i| IngestRequest {
                idempotency: None,
                items: vec![Ok(i)],
            })
            .collect();
        let results = store.ingest(requests).await?;
        let ids = stored_ids(&results);
        report.events += ids.len();
        report
            .stored
            .extend(ids.into_iter().map(|id| (Source::Event, id)));
    }
    let messages = demo_messages(&customers);
    let mut reqs = Vec::new();
    for (k, (cid, channel, text)) in messages.into_iter().enumerate() {
        let raw = RawMessage {
            channel: channel.into(),
            external_id: Some(format!("demo-msg-{k}")),
            thread: Some(format!("demo-thread-{cid}")),
            customer: RawIdentity {
                external_id: Some(cid),
                ..Default::default()
            },
            text: text.into(),
            subject: None,
            received_at: Some(at(0.1 + k as f64 * 0.15, now)),
        };
        let m = parse::message(raw, policy, now_ts)
            .map_err(|e| anyhow::anyhow!("demo message: {e:?}"))?;
        reqs.push(IngestRequest {
            idempotency: None,
            items: vec![Ok(item(Record::Message(m), max_attempts))],
        });
    }
    let ids = stored_ids(&store.ingest(reqs).await?);
    report.messages = ids.len();
    report
        .stored
        .extend(ids.into_iter().map(|id| (Source::Message, id)));
    Ok(report)
}

fn item(record: Record, max_attempts: u32) -> IngestItem {
    let id = uuid::Uuid::now_v7();
    let jobs = routing::jobs_for(id, &record, max_attempts);
    IngestItem { id, record, jobs }
}

fn stored_ids(results: &[crate::pipeline::records::IngestResult]) -> Vec<uuid::Uuid> {
    results
        .iter()
        .filter_map(|r| match r {
            crate::pipeline::records::IngestResult::Fresh(o) => Some(o),
            _ => None,
        })
        .flatten()
        .filter_map(|o| match o {
            ItemOutcome::Stored { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}
