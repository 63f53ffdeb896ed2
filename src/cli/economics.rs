//! `holdfast economics`: the owner's figures for a window, as text or JSON.

use std::path::Path;
use std::process::ExitCode;

use anyhow::anyhow;

use crate::app;
use crate::config::Settings;
use crate::pipeline::economics::{self, Economics};

use super::EconomicsArgs;

fn money(minor: Option<f64>) -> String {
    minor
        .map(|m| format!("{:.2}", m / 100.0))
        .unwrap_or_else(|| "—".into())
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "—".into())
}

pub async fn run(
    a: &EconomicsArgs,
    settings: &Settings,
    data_dir: &Path,
) -> anyhow::Result<ExitCode> {
    let (from, to) = crate::http::routes::economics::window(a.from.as_deref(), a.to.as_deref())
        .map_err(|e| anyhow!("{e}"))?;
    let store = app::open_store(settings, data_dir).await?;
    store.migrate().await?;
    let currency = settings.ingest.default_currency.to_ascii_uppercase();
    let data = store.economics_data(to, &currency).await?;
    let e = economics::compute(
        &data,
        from.unix_micros(),
        to.unix_micros(),
        settings.clv.margin,
    );
    if a.json {
        let mut v = serde_json::to_value(&e)?;
        v["currency"] = serde_json::json!(currency);
        println!("{v}");
    } else {
        print!("{}", text(&e, &currency));
    }
    Ok(ExitCode::SUCCESS)
}

fn text(e: &Economics, cur: &str) -> String {
    let mut s = format!(
        "Unit economics {} … {} (margin {:.0}%, {cur})\n",
        e.from,
        e.to,
        e.margin * 100.0
    );
    s += &format!(
        "  new customers {}   active {}   orders {}   revenue {}\n",
        e.new_customers,
        e.active_customers,
        e.orders,
        money(Some(e.revenue_minor as f64))
    );
    s += &format!(
        "  average check {}   purchases per customer {}\n",
        money(e.average_check_minor),
        num(e.purchases_per_customer, 2)
    );
    s += &format!(
        "  LTV: classic {}   ARPA/churn {}   model (mean CLV of {} scored) {}\n",
        money(e.ltv_classic_minor),
        money(e.ltv_churn_minor),
        e.customers_scored,
        money(e.ltv_model_minor)
    );
    s += &format!(
        "  ARPA per month {}   monthly churn {}\n",
        money(e.arpa_monthly_minor),
        num(e.monthly_churn.map(|c| c * 100.0), 1) + "%"
    );
    s += &format!(
        "  spend {}   CAC {}   payback {} days (target < 45)\n",
        money(Some(e.spend_minor)),
        money(e.cac_minor),
        num(e.payback_days, 0)
    );
    for (k, v) in &e.ltv_to_cac {
        s += &format!(
            "  LTV/CAC ({k}) {v:.2}{}\n",
            if *v >= 3.0 {
                ""
            } else {
                "  (below the target of 3)"
            }
        );
    }
    s += &format!(
        "  margin per lead {}   referrals {}   viral coefficient {}\n",
        money(e.margin_per_lead_minor),
        e.referrals,
        num(e.viral_coefficient, 3)
    );
    if !e.channels.is_empty() {
        s += "  by channel:\n";
        for c in &e.channels {
            s += &format!(
                "    {:<16} new {:>5}  spend {:>12}  CAC {:>10}\n",
                c.channel,
                c.new_customers,
                money(Some(c.spend_minor)),
                money(c.cac_minor)
            );
        }
    }
    if !e.churn_by_month.is_empty() {
        s += "  subscription churn by month:\n";
        for m in &e.churn_by_month {
            s += &format!(
                "    {}  subscribers {:>5}  cancelled {:>4}  churn {}\n",
                m.month,
                m.subscribers_at_start,
                m.cancelled,
                num(m.churn_rate.map(|c| c * 100.0), 1) + "%"
            );
        }
    }
    if !e.cohorts.is_empty() {
        s += "  cohort retention (share ordering in month k after signup):\n";
        for c in &e.cohorts {
            let cells: Vec<String> = c
                .retention
                .iter()
                .map(|r| format!("{:>4.0}%", r * 100.0))
                .collect();
            s += &format!(
                "    {} ({:>4})  {}\n",
                c.month,
                c.customers,
                cells.join(" ")
            );
        }
    }
    s
}
