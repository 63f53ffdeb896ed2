//! Everything the agent knows about the customer behind a message, read
//! from the store.

use crate::domain::{CustomerId, EventKind, Lang, Timestamp};
use crate::pipeline::analysis::Behaviour;
use crate::pipeline::ports::{Store, StoreResult};

#[derive(Debug, Clone)]
pub struct Situation {
    pub customer: CustomerId,
    pub text: String,
    pub lang: Lang,
    pub behaviour: Behaviour,
    pub active_subscription: bool,
    pub paid_deliveries: u32,
    pub orders_12m: u32,
    pub residual_clv_minor: Option<f64>,
    pub offer_history: Vec<(String, Timestamp, bool)>,
    pub segments: Vec<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub now: Timestamp,
}

impl Situation {
    /// A customer nobody knows anything about (evaluations, tests).
    pub fn stranger(text: &str) -> Situation {
        Situation {
            customer: CustomerId::new(),
            text: text.to_owned(),
            lang: Lang::detect(text),
            behaviour: Behaviour::default(),
            active_subscription: false,
            paid_deliveries: 0,
            orders_12m: 0,
            residual_clv_minor: None,
            offer_history: Vec::new(),
            segments: Vec::new(),
            phone: None,
            email: None,
            now: Timestamp::now(),
        }
    }
}

const DAY_US: i64 = 86_400_000_000;

pub async fn situation_for(
    store: &dyn Store,
    customer: CustomerId,
    text: &str,
) -> StoreResult<Situation> {
    let now = Timestamp::now();
    let view = store.customer(customer).await?;
    let value = store.customer_value(customer).await?;
    let events = store
        .customer_events(customer, now.plus_secs(-365 * 86_400))
        .await?;
    let history = store.offer_history(customer).await?;
    let within = |e: &crate::pipeline::views::StoredEvent, days: i64| {
        now.unix_micros() - e.occurred_at.unix_micros() <= days * DAY_US
    };
    let count = |kind: EventKind, days: i64| {
        events
            .iter()
            .filter(|e| e.kind == kind && within(e, days))
            .count() as u32
    };
    let last_cancel = events
        .iter()
        .filter(|e| e.kind == EventKind::SubscriptionCancelled)
        .map(|e| e.occurred_at)
        .max();
    let mut s = Situation::stranger(text);
    s.customer = customer;
    s.now = now;
    s.orders_12m = count(EventKind::Order, 365);
    s.offer_history = history;
    if let Some(v) = &view {
        s.active_subscription = matches!(v.stats.subscription.as_str(), "active" | "paused");
        s.phone = v.identity.phone.as_ref().map(|p| p.to_string());
        s.email = v.identity.email.as_ref().map(|e| e.to_string());
        s.behaviour.orders = v.stats.orders;
        s.behaviour.subscription = v.stats.subscription.clone();
        s.behaviour.customer_age_days =
            (now.unix_micros() - v.created_at.unix_micros()) as f64 / DAY_US as f64;
        // Orders while subscribed are not tracked separately; all orders of
        // a subscriber stand in for paid deliveries.
        if s.active_subscription || v.stats.subscription == "cancelled" {
            s.paid_deliveries = v.stats.orders as u32;
        }
    }
    if let Some(v) = &value {
        let (_, ratio) = crate::pipeline::value::lateness(&v.summary, now);
        s.behaviour.recency_ratio = ratio;
        s.behaviour.spend_trend = v.summary.spend_trend;
        s.behaviour.p_alive = v.scores.map(|x| x.p_alive);
        s.behaviour.clv_minor = v.scores.and_then(|x| x.clv);
        s.residual_clv_minor = s.behaviour.clv_minor;
    }
    s.behaviour.days_since_cancel =
        last_cancel.map(|t| (now.unix_micros() - t.unix_micros()) as f64 / DAY_US as f64);
    s.behaviour.refunds_60d = count(EventKind::Refund, 60);
    s.behaviour.support_60d = count(EventKind::SupportMessage, 60);
    s.behaviour.pauses_60d = count(EventKind::SubscriptionPaused, 60);
    s.behaviour.offers_declined_90d = count(EventKind::OfferDeclined, 90);
    Ok(s)
}
