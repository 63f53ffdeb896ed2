//! Unit economics an owner steers by, computed from stored events, value
//! scores and marketing spend. Every formula is written next to its field.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::domain::{CustomerId, Timestamp};

const DAY_US: i64 = 86_400_000_000;
/// Average month length used for "monthly" figures.
const MONTH_DAYS: f64 = 30.436_875;

/// The raw material: everything up to the end of the window.
#[derive(Debug, Clone, Default)]
pub struct EconomicsData {
    /// (customer, when, acquisition channel, referred by another customer)
    pub signups: Vec<(CustomerId, i64, String, bool)>,
    /// (customer, when, amount in minor units)
    pub orders: Vec<(CustomerId, i64, i64)>,
    /// (customer, when, kind): subscription_started / _resumed / _paused / _cancelled
    pub subscription_events: Vec<(CustomerId, i64, String)>,
    /// when
    pub referrals: Vec<i64>,
    /// (channel, period start, period end, amount in minor units)
    pub spend: Vec<(String, i64, i64, i64)>,
    /// model-based CLV per scored customer, minor units
    pub clv: Vec<(CustomerId, f64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChannelEconomics {
    pub channel: String,
    pub new_customers: u64,
    /// Spend overlapping the window, pro-rated by days of overlap.
    pub spend_minor: f64,
    /// spend / new customers
    pub cac_minor: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonthChurn {
    pub month: String,
    pub subscribers_at_start: u64,
    pub cancelled: u64,
    /// cancelled / subscribers at start
    pub churn_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cohort {
    pub month: String,
    pub customers: u64,
    /// Share of the cohort with an order in month k after signup (k = 0, 1, …).
    pub retention: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Economics {
    pub from: String,
    pub to: String,
    pub margin: f64,
    pub new_customers: u64,
    pub active_customers: u64,
    pub orders: u64,
    pub revenue_minor: i64,
    /// revenue / orders
    pub average_check_minor: Option<f64>,
    /// all-time orders / customers with an order, up to `to`
    pub purchases_per_customer: Option<f64>,
    /// average check × purchases per customer × margin
    pub ltv_classic_minor: Option<f64>,
    /// revenue in the window / active customers / months in the window
    pub arpa_monthly_minor: Option<f64>,
    /// mean monthly subscription churn in the window
    pub monthly_churn: Option<f64>,
    /// ARPA × margin / monthly churn
    pub ltv_churn_minor: Option<f64>,
    /// mean model-based CLV of scored customers (margin applied at scoring)
    pub ltv_model_minor: Option<f64>,
    pub customers_scored: u64,
    pub spend_minor: f64,
    /// total spend / new customers
    pub cac_minor: Option<f64>,
    /// each LTV over CAC (target ≥ 3)
    pub ltv_to_cac: BTreeMap<String, f64>,
    /// CAC / (ARPA × margin) in days (target < 45)
    pub payback_days: Option<f64>,
    /// (first-window revenue of new customers × margin − spend) / new customers
    pub margin_per_lead_minor: Option<f64>,
    pub referrals: u64,
    /// referred new customers / active customers: new customers each
    /// customer brings through referrals in the window
    pub viral_coefficient: Option<f64>,
    pub channels: Vec<ChannelEconomics>,
    pub churn_by_month: Vec<MonthChurn>,
    pub cohorts: Vec<Cohort>,
}

fn month_key(us: i64) -> (i32, u32) {
    let t = Timestamp::from_unix_micros(us).datetime();
    use chrono::Datelike;
    (t.year(), t.month())
}

fn month_start(y: i32, m: u32) -> i64 {
    chrono::NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_micros())
        .unwrap_or(0)
}

fn next_month((y, m): (i32, u32)) -> (i32, u32) {
    if m == 12 { (y + 1, 1) } else { (y, m + 1) }
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite()).then(|| a / b)
}

/// Computes the figures for [from, to) with `margin` the gross margin share.
pub fn compute(d: &EconomicsData, from: i64, to: i64, margin: f64) -> Economics {
    let in_window = |t: i64| t >= from && t < to;
    let months = ((to - from) as f64 / DAY_US as f64 / MONTH_DAYS).max(1.0 / MONTH_DAYS);
    let new: Vec<&(CustomerId, i64, String, bool)> =
        d.signups.iter().filter(|s| in_window(s.1)).collect();
    let new_ids: HashSet<CustomerId> = new.iter().map(|s| s.0).collect();
    let window_orders: Vec<&(CustomerId, i64, i64)> =
        d.orders.iter().filter(|o| in_window(o.1)).collect();
    let revenue: i64 = window_orders.iter().map(|o| o.2).sum();
    let active: HashSet<CustomerId> = window_orders.iter().map(|o| o.0).collect();
    let upto: Vec<&(CustomerId, i64, i64)> = d.orders.iter().filter(|o| o.1 < to).collect();
    let buyers: HashSet<CustomerId> = upto.iter().map(|o| o.0).collect();
    let average_check = ratio(revenue as f64, window_orders.len() as f64);
    let purchases_per_customer = ratio(upto.len() as f64, buyers.len() as f64);
    let ltv_classic = average_check
        .zip(purchases_per_customer)
        .map(|(a, p)| a * p * margin);
    let arpa = ratio(revenue as f64, active.len() as f64).map(|r| r / months);

    // Subscription state per month: replay the events in time order.
    let mut subs: Vec<&(CustomerId, i64, String)> =
        d.subscription_events.iter().filter(|e| e.1 < to).collect();
    subs.sort_by_key(|e| e.1);
    let mut churn_by_month = Vec::new();
    let mut month = month_key(from);
    let mut idx = 0;
    let mut subscribed: HashSet<CustomerId> = HashSet::new();
    loop {
        let start = month_start(month.0, month.1).max(from);
        if start >= to {
            break;
        }
        while idx < subs.len() && subs[idx].1 < start {
            apply(&mut subscribed, subs[idx]);
            idx += 1;
        }
        let at_start = subscribed.len() as u64;
        let next = month_start(next_month(month).0, next_month(month).1).min(to);
        let cancelled = subs[idx..]
            .iter()
            .take_while(|e| e.1 < next)
            .filter(|e| e.2 == "subscription_cancelled")
            .count() as u64;
        churn_by_month.push(MonthChurn {
            month: format!("{:04}-{:02}", month.0, month.1),
            subscribers_at_start: at_start,
            cancelled,
            churn_rate: ratio(cancelled as f64, at_start as f64),
        });
        month = next_month(month);
    }
    let rates: Vec<f64> = churn_by_month.iter().filter_map(|m| m.churn_rate).collect();
    let monthly_churn = (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64);
    let ltv_churn = arpa
        .zip(monthly_churn)
        .and_then(|(a, c)| ratio(a * margin, c));
    let ltv_model = ratio(d.clv.iter().map(|c| c.1).sum(), d.clv.len() as f64);

    // Spend pro-rated to the window.
    let mut by_channel: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for s in &new {
        by_channel.entry(s.2.clone()).or_default().0 += 1;
    }
    for (channel, start, end, amount) in &d.spend {
        let overlap = (end.min(&to) - start.max(&from)).max(0) as f64;
        let length = (end - start).max(1) as f64;
        by_channel.entry(channel.clone()).or_default().1 += *amount as f64 * overlap / length;
    }
    let spend: f64 = by_channel.values().map(|v| v.1).sum();
    // No spend recorded means CAC is unknown, not zero.
    let known_spend: HashSet<&str> = d.spend.iter().map(|s| s.0.as_str()).collect();
    let cac = if known_spend.is_empty() {
        None
    } else {
        ratio(spend, new.len() as f64)
    };
    let mut ltv_to_cac = BTreeMap::new();
    for (name, ltv) in [
        ("classic", ltv_classic),
        ("churn", ltv_churn),
        ("model", ltv_model),
    ] {
        if let Some(r) = ltv.zip(cac).and_then(|(l, c)| ratio(l, c)) {
            ltv_to_cac.insert(name.to_owned(), r);
        }
    }
    let payback_days = cac
        .zip(arpa)
        .and_then(|(c, a)| ratio(c, a * margin / MONTH_DAYS));
    let new_revenue: i64 = window_orders
        .iter()
        .filter(|o| new_ids.contains(&o.0))
        .map(|o| o.2)
        .sum();
    let margin_per_lead = ratio(new_revenue as f64 * margin - spend, new.len() as f64);
    let referred = new.iter().filter(|s| s.3).count() as f64;
    let referrals = d.referrals.iter().filter(|t| in_window(**t)).count() as u64;

    Economics {
        from: Timestamp::from_unix_micros(from).to_string(),
        to: Timestamp::from_unix_micros(to).to_string(),
        margin,
        new_customers: new.len() as u64,
        active_customers: active.len() as u64,
        orders: window_orders.len() as u64,
        revenue_minor: revenue,
        average_check_minor: average_check,
        purchases_per_customer,
        ltv_classic_minor: ltv_classic,
        arpa_monthly_minor: arpa,
        monthly_churn,
        ltv_churn_minor: ltv_churn,
        ltv_model_minor: ltv_model,
        customers_scored: d.clv.len() as u64,
        spend_minor: spend,
        cac_minor: cac,
        ltv_to_cac,
        payback_days,
        margin_per_lead_minor: margin_per_lead,
        referrals,
        viral_coefficient: ratio(referred, active.len() as f64),
        channels: by_channel
            .into_iter()
            .map(|(channel, (n, s))| {
                let cac_minor = if known_spend.contains(channel.as_str()) {
                    ratio(s, n as f64)
                } else {
                    None
                };
                ChannelEconomics {
                    channel,
                    new_customers: n,
                    spend_minor: s,
                    cac_minor,
                }
            })
            .collect(),
        churn_by_month,
        cohorts: cohorts(d, to),
    }
}

fn apply(subscribed: &mut HashSet<CustomerId>, e: &(CustomerId, i64, String)) {
    match e.2.as_str() {
        "subscription_started" | "subscription_resumed" => {
            subscribed.insert(e.0);
        }
        "subscription_cancelled" => {
            subscribed.remove(&e.0);
        }
        _ => {}
    }
}

/// Monthly signup cohorts of the last 12 months before `to`.
fn cohorts(d: &EconomicsData, to: i64) -> Vec<Cohort> {
    let mut orders_by: HashMap<CustomerId, Vec<i64>> = HashMap::new();
    for o in d.orders.iter().filter(|o| o.1 < to) {
        orders_by.entry(o.0).or_default().push(o.1);
    }
    let mut groups: BTreeMap<(i32, u32), Vec<CustomerId>> = BTreeMap::new();
    let earliest = to - 366 * DAY_US;
    for s in d.signups.iter().filter(|s| s.1 < to && s.1 >= earliest) {
        groups.entry(month_key(s.1)).or_default().push(s.0);
    }
    let last = month_key(to - 1);
    groups
        .into_iter()
        .map(|(m, members)| {
            let mut retention = Vec::new();
            let mut k = m;
            loop {
                let (a, b) = (
                    month_start(k.0, k.1),
                    month_start(next_month(k).0, next_month(k).1),
                );
                let retained = members
                    .iter()
                    .filter(|c| {
                        orders_by
                            .get(c)
                            .is_some_and(|os| os.iter().any(|t| *t >= a && *t < b))
                    })
                    .count();
                retention.push(retained as f64 / members.len() as f64);
                if k == last {
                    break;
                }
                k = next_month(k);
            }
            Cohort {
                month: format!("{:04}-{:02}", m.0, m.1),
                customers: members.len() as u64,
                retention,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> i64 {
        chrono::NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    #[test]
    fn formulas_on_a_small_shop() {
        let (a, b, c) = (CustomerId::new(), CustomerId::new(), CustomerId::new());
        let d = EconomicsData {
            signups: vec![
                (a, day(2026, 1, 5), "ads".into(), false),
                (b, day(2026, 1, 20), "ads".into(), true),
                (c, day(2025, 6, 1), "seo".into(), false),
            ],
            orders: vec![
                (a, day(2026, 1, 6), 1000),
                (a, day(2026, 2, 6), 1000),
                (b, day(2026, 1, 21), 3000),
                (c, day(2025, 6, 2), 2000),
            ],
            subscription_events: vec![
                (a, day(2026, 1, 6), "subscription_started".into()),
                (b, day(2026, 1, 21), "subscription_started".into()),
                (a, day(2026, 2, 10), "subscription_cancelled".into()),
            ],
            referrals: vec![day(2026, 1, 10)],
            spend: vec![("ads".into(), day(2026, 1, 1), day(2026, 3, 1), 6000)],
            clv: vec![(a, 500.0), (b, 1500.0)],
        };
        let e = compute(&d, day(2026, 1, 1), day(2026, 3, 1), 0.5);
        assert_eq!(e.new_customers, 2);
        assert_eq!(e.orders, 3);
        assert_eq!(e.revenue_minor, 5000);
        assert_eq!(e.average_check_minor, Some(5000.0 / 3.0));
        assert_eq!(e.purchases_per_customer, Some(4.0 / 3.0));
        assert_eq!(e.ltv_model_minor, Some(1000.0));
        assert!((e.spend_minor - 6000.0).abs() < 1.0, "{}", e.spend_minor);
        assert_eq!(e.cac_minor.map(|c| c.round()), Some(3000.0));
        // February: two subscribers at the start, one cancels.
        let feb = e
            .churn_by_month
            .iter()
            .find(|m| m.month == "2026-02")
            .unwrap();
        assert_eq!((feb.subscribers_at_start, feb.cancelled), (2, 1));
        assert_eq!(e.viral_coefficient, Some(0.5));
        assert_eq!(e.referrals, 1);
        let jan = e.cohorts.iter().find(|c| c.month == "2026-01").unwrap();
        assert_eq!(jan.customers, 2);
        assert_eq!(jan.retention[0], 1.0);
        assert_eq!(jan.retention[1], 0.5);
        assert!(e.payback_days.is_some());
        assert!(e.ltv_to_cac.contains_key("model"));
    }

    #[test]
    fn empty_shop_has_no_ratios() {
        let e = compute(&EconomicsData::default(), 0, 30 * DAY_US, 0.3);
        assert_eq!(e.cac_minor, None);
        assert_eq!(e.monthly_churn, None);
        assert!(e.ltv_to_cac.is_empty());
    }
}
