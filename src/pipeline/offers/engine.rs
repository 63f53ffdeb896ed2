//! Next-best offer: eligibility, cooldowns, a budget tied to predicted
//! residual CLV, a choice by phase and intent, and a deterministic A/B
//! assignment with a holdout group that gets no offer.

use sha2::{Digest, Sha256};

use crate::domain::{CustomerId, Intent, Lang, Phase, Timestamp};

use super::catalogue::{Catalogue, Offer, OfferKind};

/// What the engine knows about the customer now.
#[derive(Debug, Clone)]
pub struct OfferContext {
    pub customer: CustomerId,
    pub phase: Phase,
    pub intent: Intent,
    pub active_subscription: bool,
    /// Paid subscription deliveries (orders while subscribed, all time).
    pub paid_deliveries: u32,
    pub orders_12m: u32,
    /// The customer reported a delay, defect or wrong item in this message.
    /// Offers that need a confirmed incident are proposed for a manager to
    /// confirm, never sent on their own.
    pub incident_reported: bool,
    pub segments: Vec<String>,
    /// Predicted residual CLV, minor units; `None` before a model exists.
    pub residual_clv_minor: Option<f64>,
    /// Offers made before: (offer id, when, priced).
    pub history: Vec<(String, Timestamp, bool)>,
    pub now: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OfferPolicy {
    /// An offer's cost may not exceed this share of residual CLV.
    pub budget_share: f64,
    /// Percent of customers (by a hash of their id) who get no offer.
    pub holdout_pct: u32,
    /// Names the experiment; changing it reshuffles assignments.
    pub experiment: String,
}

/// The terms of the chosen offer, exactly as they may be promised.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenOffer {
    pub id: String,
    pub kind: OfferKind,
    pub title: String,
    pub discount_pct: Option<u32>,
    pub max_deliveries: Option<u32>,
    pub duration_days: Option<u32>,
    pub max_points: Option<u32>,
    pub cost_minor: i64,
    pub priced: bool,
    /// Needs a manager's confirmation before it may be sent.
    pub needs_confirmation: bool,
}

impl ChosenOffer {
    /// The customer-facing terms in `lang` (no internal ids or thresholds).
    pub fn terms(&self, lang: Lang) -> String {
        let ru = lang == Lang::Ru;
        match self.kind {
            OfferKind::Discount => match (self.discount_pct, self.max_deliveries, ru) {
                (Some(p), Some(n), true) => format!("скидка {p}% на следующие {n} коробки"),
                (Some(p), Some(n), false) => format!("{p}% off your next {n} boxes"),
                (Some(p), None, true) => format!("скидка {p}% на следующую коробку"),
                (Some(p), None, false) => format!("{p}% off your next box"),
                (None, _, _) => self.title.clone(),
            },
            OfferKind::FreeDelivery => match (self.duration_days, ru) {
                (Some(d), true) => format!("бесплатная доставка на {d} дней"),
                (Some(d), false) => format!("free delivery for {d} days"),
                (None, _) => self.title.clone(),
            },
            OfferKind::Points => match (self.max_points, ru) {
                (Some(p), true) => format!("до {p} баллов в качестве извинения"),
                (Some(p), false) => format!("up to {p} points as an apology"),
                (None, _) => self.title.clone(),
            },
            _ => self.title.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OfferDecision {
    pub offer: Option<ChosenOffer>,
    pub experiment: String,
    /// `holdout`, `standard`, or the discount step for discount offers.
    pub variant: String,
    pub holdout: bool,
    /// Why each offer was or was not chosen, for the manager.
    pub reasons: Vec<String>,
}

/// A number in 0..100 fixed per (experiment, customer, salt).
fn bucket(experiment: &str, customer: CustomerId, salt: &str) -> u32 {
    let d = Sha256::digest(format!("{experiment}/{salt}/{customer}").as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % 100
}

/// The order in which kinds are worth offering for this phase and intent.
/// Cheap, non-priced alternatives come first where they answer the need.
fn preference(phase: Phase, intent: Intent) -> &'static [OfferKind] {
    use OfferKind::*;
    match (intent, phase) {
        (Intent::CancelIntent, _) | (_, Phase::Churning) => {
            &[Pause, PlanChange, ExtraSkip, Discount]
        }
        (Intent::PriceObjection, _) => &[PlanChange, Discount, FreeDelivery],
        (Intent::Complaint, _) => &[Points, FreeItem],
        (_, Phase::Resisting) => &[Pause, PlanChange],
        (_, Phase::AtRisk) => &[Discount, FreeDelivery, FreeItem, PlanChange],
        (Intent::BuyingSignal, _) | (_, Phase::Hot) => &[FreeItem, FreeDelivery],
        _ => &[],
    }
}

fn days_between(a: Timestamp, b: Timestamp) -> f64 {
    (b.unix_micros() - a.unix_micros()) as f64 / 86_400e6
}

fn check(o: &Offer, c: &OfferContext, cat: &Catalogue, p: &OfferPolicy) -> Result<(), String> {
    if !o.phases().contains(&c.phase) {
        return Err("not for this phase".into());
    }
    let e = &o.eligibility;
    if e.active_subscription && !c.active_subscription {
        return Err("needs an active subscription".into());
    }
    if c.paid_deliveries < e.min_paid_deliveries {
        return Err(format!("needs {} paid deliveries", e.min_paid_deliveries));
    }
    if c.orders_12m < e.min_orders_12m {
        return Err(format!("needs {} orders in 12 months", e.min_orders_12m));
    }
    if e.requires_incident && !c.incident_reported {
        return Err("needs a reported incident".into());
    }
    if let Some((_, at, _)) = c
        .history
        .iter()
        .filter(|(id, _, _)| *id == o.id)
        .max_by_key(|h| h.1)
        && days_between(*at, c.now) < f64::from(o.cooldown_days)
    {
        return Err(format!("offered within the last {} days", o.cooldown_days));
    }
    if o.priced {
        let last_priced = c.history.iter().filter(|h| h.2).map(|h| h.1).max();
        if let Some(at) = last_priced
            && days_between(at, c.now) < f64::from(cat.rules.min_days_between_priced_offers)
        {
            return Err("a priced offer was made recently".into());
        }
        let cost = f64::from(o.cost_rub) * 100.0;
        match c.residual_clv_minor {
            None => return Err("no CLV prediction yet, so no budget for a priced offer".into()),
            Some(clv) if cost > p.budget_share * clv => {
                return Err(format!(
                    "costs more than {:.0}% of the predicted CLV",
                    p.budget_share * 100.0
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Chooses at most one offer (the catalogue allows at most one priced offer
/// per reply; one offer keeps replies simple and uplift measurable).
pub fn choose(cat: &Catalogue, c: &OfferContext, p: &OfferPolicy, lang: Lang) -> OfferDecision {
    let mut reasons = Vec::new();
    let none = |variant: &str, holdout: bool, reasons: Vec<String>| OfferDecision {
        offer: None,
        experiment: p.experiment.clone(),
        variant: variant.to_owned(),
        holdout,
        reasons,
    };
    if let Some(s) = c
        .segments
        .iter()
        .find(|s| cat.rules.excluded_segments.contains(s))
    {
        return none(
            "excluded",
            false,
            vec![format!("customer is in the excluded segment {s}")],
        );
    }
    let wanted = preference(c.phase, c.intent);
    if wanted.is_empty() {
        return none(
            "none",
            false,
            vec![format!(
                "no offer for phase {} with intent {}",
                c.phase, c.intent
            )],
        );
    }
    if bucket(&p.experiment, c.customer, "holdout") < p.holdout_pct {
        return none(
            "holdout",
            true,
            vec!["in the holdout group: no offer, to measure uplift".into()],
        );
    }
    for kind in wanted {
        for o in cat.offers.iter().filter(|o| o.kind == *kind) {
            match check(o, c, cat, p) {
                Err(why) => reasons.push(format!("{}: {why}", o.title(lang))),
                Ok(()) => {
                    let discount_pct = (o.kind == OfferKind::Discount).then(|| {
                        let steps = if o.discount_steps_pct.is_empty() {
                            vec![o.max_discount_pct.unwrap_or(0)]
                        } else {
                            o.discount_steps_pct.clone()
                        };
                        steps[bucket(&p.experiment, c.customer, &o.id) as usize % steps.len()]
                    });
                    let variant = discount_pct
                        .map(|d| format!("{d}pct"))
                        .unwrap_or_else(|| "standard".into());
                    reasons.push(format!(
                        "{}: eligible, best fit for {} / {}",
                        o.title(lang),
                        c.phase,
                        c.intent
                    ));
                    return OfferDecision {
                        offer: Some(ChosenOffer {
                            id: o.id.clone(),
                            kind: o.kind,
                            title: o.title(lang).to_owned(),
                            discount_pct,
                            max_deliveries: o.max_deliveries,
                            duration_days: o.duration_days,
                            max_points: o.max_points,
                            cost_minor: i64::from(o.cost_rub) * 100,
                            priced: o.priced,
                            needs_confirmation: o.eligibility.requires_incident,
                        }),
                        experiment: p.experiment.clone(),
                        variant,
                        holdout: false,
                        reasons,
                    };
                }
            }
        }
    }
    none("none", false, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cat() -> Catalogue {
        Catalogue::parse(include_str!("../../../knowledge/offers.toml")).unwrap()
    }

    fn policy(holdout: u32) -> OfferPolicy {
        OfferPolicy {
            budget_share: 0.2,
            holdout_pct: holdout,
            experiment: "t".into(),
        }
    }

    fn ctx(phase: Phase, intent: Intent) -> OfferContext {
        OfferContext {
            customer: CustomerId::new(),
            phase,
            intent,
            active_subscription: true,
            paid_deliveries: 10,
            orders_12m: 10,
            incident_reported: false,
            segments: vec![],
            residual_clv_minor: Some(2_000_000.0),
            history: vec![],
            now: Timestamp::now(),
        }
    }

    #[test]
    fn cancelling_subscribers_get_a_pause_first() {
        let d = choose(
            &cat(),
            &ctx(Phase::Churning, Intent::CancelIntent),
            &policy(0),
            Lang::Ru,
        );
        assert_eq!(d.offer.unwrap().kind, OfferKind::Pause);
    }

    #[test]
    fn priced_offers_respect_budget_and_spacing() {
        let mut c = ctx(Phase::AtRisk, Intent::Other);
        c.residual_clv_minor = Some(100.0);
        let d = choose(&cat(), &c, &policy(0), Lang::En);
        assert!(d.offer.as_ref().is_none_or(|o| !o.priced), "{d:?}");
        let mut c = ctx(Phase::AtRisk, Intent::Other);
        c.history.push((
            "free-delivery-90".into(),
            c.now.plus_secs(-5 * 86_400),
            true,
        ));
        let d = choose(&cat(), &c, &policy(0), Lang::En);
        assert!(d.offer.as_ref().is_none_or(|o| !o.priced), "{d:?}");
    }

    #[test]
    fn holdout_is_deterministic_and_roughly_the_configured_share() {
        let p = policy(20);
        let mut held = 0;
        for _ in 0..2000 {
            let c = ctx(Phase::AtRisk, Intent::Other);
            let a = choose(&cat(), &c, &p, Lang::En);
            let b = choose(&cat(), &c, &p, Lang::En);
            assert_eq!(a, b, "the same customer always gets the same assignment");
            held += usize::from(a.holdout);
        }
        assert!(
            (300..500).contains(&held),
            "{held} of 2000 in a 20% holdout"
        );
    }

    proptest! {
        /// Whatever the context, a chosen offer is in the catalogue, fits
        /// the phase and stays within its caps and the budget.
        #[test]
        fn choices_stay_within_the_catalogue(
            phase in 0usize..6, intent in 0usize..7, sub in any::<bool>(), paid in 0u32..12,
            orders in 0u32..12, clv in proptest::option::of(0.0f64..5_000_000.0), incident in any::<bool>()
        ) {
            let cat = cat();
            let mut c = ctx(Phase::ALL[phase], Intent::ALL[intent]);
            c.active_subscription = sub;
            c.paid_deliveries = paid;
            c.orders_12m = orders;
            c.residual_clv_minor = clv;
            c.incident_reported = incident;
            let p = policy(0);
            if let Some(o) = choose(&cat, &c, &p, Lang::Ru).offer {
                let def = cat.get(&o.id).unwrap();
                prop_assert!(def.phases().contains(&c.phase));
                if let Some(d) = o.discount_pct {
                    prop_assert!(d <= def.max_discount_pct.unwrap());
                }
                if o.priced {
                    prop_assert!((o.cost_minor as f64) <= p.budget_share * clv.unwrap());
                }
                prop_assert!(!def.eligibility.active_subscription || sub);
            }
        }
    }
}
