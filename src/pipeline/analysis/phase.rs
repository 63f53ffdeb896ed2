//! The lifecycle phase: the message's intent combined with behaviour
//! (recency against the customer's own rhythm, P(alive), complaints,
//! refunds, pauses, cancellations).

use crate::domain::{Intent, Phase, Sentiment};

/// Behaviour figures the phase decision reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Behaviour {
    pub orders: u64,
    pub customer_age_days: f64,
    pub p_alive: Option<f64>,
    /// Days since the last purchase over the customer's usual gap.
    pub recency_ratio: Option<f64>,
    pub spend_trend: Option<f64>,
    pub clv_minor: Option<f64>,
    /// active, paused, cancelled or none
    pub subscription: String,
    pub days_since_cancel: Option<f64>,
    pub refunds_60d: u32,
    pub support_60d: u32,
    pub pauses_60d: u32,
    pub offers_declined_90d: u32,
}

/// Decides the phase and says why.
pub fn decide(intent: Intent, sentiment: Sentiment, b: &Behaviour) -> (Phase, Vec<String>) {
    let mut why = Vec::new();
    if intent == Intent::CancelIntent {
        why.push("asks to cancel".to_owned());
        return (Phase::Churning, why);
    }
    if let Some(d) = b.days_since_cancel.filter(|d| *d <= 60.0) {
        why.push(format!("cancelled {d:.0} days ago"));
        return (Phase::Churning, why);
    }
    if b.offers_declined_90d >= 2
        && matches!(
            intent,
            Intent::PriceObjection | Intent::Complaint | Intent::Other
        )
    {
        why.push(format!(
            "declined {} offers in 90 days",
            b.offers_declined_90d
        ));
        return (Phase::Resisting, why);
    }
    let mut risk = Vec::new();
    if let Some(r) = b.recency_ratio.filter(|r| *r > 1.5) {
        risk.push(format!("{r:.1}× later than their usual rhythm"));
    }
    if let Some(p) = b.p_alive.filter(|p| *p < 0.5) {
        risk.push(format!("P(alive) {p:.2}"));
    }
    if intent == Intent::Complaint {
        risk.push("complains".to_owned());
    }
    if intent == Intent::PriceObjection {
        risk.push("objects to the price".to_owned());
    }
    if b.refunds_60d > 0 {
        risk.push(format!("{} refund(s) in 60 days", b.refunds_60d));
    }
    if b.pauses_60d > 0 || b.subscription == "paused" {
        risk.push("paused recently".to_owned());
    }
    if sentiment == Sentiment::Negative && b.support_60d >= 2 {
        risk.push(format!("{} support contacts in 60 days", b.support_60d));
    }
    if !risk.is_empty() {
        return (Phase::AtRisk, risk);
    }
    if intent == Intent::BuyingSignal {
        why.push("signals a purchase".to_owned());
        return (Phase::Hot, why);
    }
    if let Some(t) = b.spend_trend.filter(|t| *t > 0.2) {
        why.push(format!("spend up {:.0}%", t * 100.0));
        return (Phase::Hot, why);
    }
    if b.orders <= 1 && b.customer_age_days <= 60.0 {
        why.push(format!(
            "{} order(s), customer for {:.0} days",
            b.orders, b.customer_age_days
        ));
        return (Phase::New, why);
    }
    why.push("buying on their usual rhythm".to_owned());
    (Phase::Active, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_behaviour() {
        let regular = Behaviour {
            orders: 8,
            customer_age_days: 300.0,
            p_alive: Some(0.9),
            recency_ratio: Some(0.8),
            subscription: "active".into(),
            ..Default::default()
        };
        assert_eq!(
            decide(Intent::Question, Sentiment::Neutral, &regular).0,
            Phase::Active
        );
        assert_eq!(
            decide(Intent::CancelIntent, Sentiment::Positive, &regular).0,
            Phase::Churning
        );
        assert_eq!(
            decide(Intent::BuyingSignal, Sentiment::Positive, &regular).0,
            Phase::Hot
        );
        let late = Behaviour {
            recency_ratio: Some(3.0),
            ..regular.clone()
        };
        let (p, why) = decide(Intent::Question, Sentiment::Neutral, &late);
        assert_eq!(p, Phase::AtRisk);
        assert!(why[0].contains("later than their usual rhythm"));
        let fresh = Behaviour {
            orders: 1,
            customer_age_days: 10.0,
            ..Default::default()
        };
        assert_eq!(
            decide(Intent::Question, Sentiment::Neutral, &fresh).0,
            Phase::New
        );
        let declining = Behaviour {
            offers_declined_90d: 2,
            ..regular
        };
        assert_eq!(
            decide(Intent::PriceObjection, Sentiment::Negative, &declining).0,
            Phase::Resisting
        );
    }
}
