//! Shapes of customers, their value and identity conflicts.

use serde::Serialize;

use crate::pipeline::views::{ConflictView, CustomerView};

#[derive(Debug, Serialize)]
pub struct IdentifiersDto {
    pub external_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub telegram_id: Option<i64>,
    pub telegram_username: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StatsDto {
    pub orders: u64,
    pub revenue: String,
    pub revenue_minor: i64,
    pub refunds_minor: i64,
    pub first_order_at: Option<String>,
    pub last_order_at: Option<String>,
    pub last_activity_at: Option<String>,
    pub subscription: String,
    pub events: u64,
    pub messages: u64,
}

#[derive(Debug, Serialize)]
pub struct CustomerDto {
    pub id: String,
    pub name: Option<String>,
    pub identifiers: IdentifiersDto,
    pub created_at: String,
    pub merged_into: Option<String>,
    pub stats: StatsDto,
    pub open_conflicts: u64,
    /// Identifiers the customer gained from merged records.
    pub aliases: Vec<AliasDto>,
    /// Purchase summary and model scores; null before the first order.
    pub value: Option<ValueDto>,
}

/// What the customer is worth and how they behave, for managers and for
/// the lifecycle analysis.
#[derive(Debug, Serialize)]
pub struct ValueDto {
    pub currency: String,
    pub purchases: u32,
    /// BTYD summary in weeks (lifetimes' conventions).
    pub frequency: f64,
    pub recency_weeks: f64,
    pub t_weeks: f64,
    pub first_purchase_at: String,
    pub last_purchase_at: String,
    /// Median days between purchases.
    pub rhythm_days: Option<f64>,
    pub days_since_last_purchase: f64,
    /// days since last purchase / rhythm (above ~1.5: later than usual).
    pub recency_ratio: Option<f64>,
    /// Recent order amounts over earlier ones, minus one.
    pub spend_trend: Option<f64>,
    pub model_version: Option<i64>,
    pub p_alive: Option<f64>,
    pub expected_purchases: Option<f64>,
    pub horizon_days: f64,
    pub expected_spend: Option<f64>,
    /// Discounted margin over the CLV horizon, in currency units.
    pub clv: Option<f64>,
    pub scored_at: String,
    /// Why scores are missing, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ValueDto {
    pub fn new(
        v: crate::pipeline::views::CustomerValueRecord,
        horizon_days: f64,
        now: crate::domain::Timestamp,
    ) -> Self {
        let (days, ratio) = crate::pipeline::value::lateness(&v.summary, now);
        let s = v.summary;
        let major = |minor: f64| minor / 100.0;
        ValueDto {
            currency: v.currency,
            purchases: s.purchases,
            frequency: s.frequency,
            recency_weeks: s.recency,
            t_weeks: s.t,
            first_purchase_at: s.first_purchase_at.to_string(),
            last_purchase_at: s.last_purchase_at.to_string(),
            rhythm_days: s.rhythm_days,
            days_since_last_purchase: days,
            recency_ratio: ratio,
            spend_trend: s.spend_trend,
            model_version: v.model_version,
            p_alive: v.scores.map(|x| x.p_alive),
            expected_purchases: v.scores.map(|x| x.expected_purchases),
            horizon_days,
            expected_spend: v.scores.and_then(|x| x.expected_spend).map(major),
            clv: v.scores.and_then(|x| x.clv).map(major),
            scored_at: v.scored_at.to_string(),
            note: v.scores.is_none().then(|| "no customer-value model yet: it is fitted once enough customers have bought twice (clv.min_repeat_customers)".to_owned()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AliasDto {
    pub kind: String,
    pub value: String,
}

impl From<CustomerView> for CustomerDto {
    fn from(c: CustomerView) -> Self {
        let i = c.identity;
        let s = c.stats;
        CustomerDto {
            id: c.id.to_string(),
            name: c.name,
            identifiers: IdentifiersDto {
                external_id: i.external_id.map(|x| x.to_string()),
                phone: i.phone.map(|x| x.to_string()),
                email: i.email.map(|x| x.to_string()),
                telegram_id: i.telegram_id.map(|x| x.get()),
                telegram_username: i.telegram_username.map(|x| x.as_str().to_owned()),
            },
            created_at: c.created_at.to_string(),
            merged_into: c.merged_into.map(|m| m.to_string()),
            stats: StatsDto {
                orders: s.orders,
                revenue: format!(
                    "{}.{:02}",
                    s.revenue_minor / 100,
                    (s.revenue_minor % 100).abs()
                ),
                revenue_minor: s.revenue_minor,
                refunds_minor: s.refunds_minor,
                first_order_at: s.first_order_at.map(|t| t.to_string()),
                last_order_at: s.last_order_at.map(|t| t.to_string()),
                last_activity_at: s.last_event_at.map(|t| t.to_string()),
                subscription: s.subscription,
                events: s.events,
                messages: s.messages,
            },
            open_conflicts: c.open_conflicts,
            aliases: c
                .aliases
                .into_iter()
                .map(|(k, v)| AliasDto {
                    kind: k.to_string(),
                    value: v,
                })
                .collect(),
            value: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ConflictDto {
    pub id: String,
    pub customer_id: Option<String>,
    pub other_customer_id: Option<String>,
    pub kind: String,
    pub value: String,
    pub existing_value: Option<String>,
    pub source: String,
    pub created_at: String,
    pub resolved_at: Option<String>,
}

impl From<ConflictView> for ConflictDto {
    fn from(c: ConflictView) -> Self {
        ConflictDto {
            id: c.id.to_string(),
            customer_id: c.customer_id.map(|x| x.to_string()),
            other_customer_id: c.other_customer_id.map(|x| x.to_string()),
            kind: c.kind.to_string(),
            value: c.value,
            existing_value: c.existing_value,
            source: c.source,
            created_at: c.created_at.to_string(),
            resolved_at: c.resolved_at.map(|t| t.to_string()),
        }
    }
}
