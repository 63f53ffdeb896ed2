//! `holdfast clv holdout`: fit on the calibration period, predict the
//! holdout, compare with what customers actually did, draw the chart.

use anyhow::{Context, anyhow};
use serde_json::json;

use crate::clv::{BgNbd, FitOptions, ParetoNbd, calibration_and_holdout, parse_ymd};

use super::data::Table;
use super::period;
use crate::cli::ClvHoldoutArgs;
use crate::cli::ClvModel;

pub struct Holdout {
    pub customers: usize,
    pub predicted_total: f64,
    pub actual_total: f64,
    pub mae: f64,
    /// By calibration frequency 0..=7 (7 = 7+): (customers, mean actual, mean predicted).
    pub by_frequency: Vec<(usize, f64, f64)>,
}

pub fn run(a: &ClvHoldoutArgs) -> anyhow::Result<serde_json::Value> {
    let table = Table::read(&a.data)?;
    let all: Vec<usize> = (0..table.rows.len()).collect();
    let tx = table.transactions(&all)?;
    let cal_end = parse_ymd(&a.calibration_end).map_err(|e| anyhow!("--calibration-end: {e}"))?;
    let hold_end = parse_ymd(&a.holdout_end).map_err(|e| anyhow!("--holdout-end: {e}"))?;
    let ch = calibration_and_holdout(&tx, cal_end, hold_end, period(a.period))
        .map_err(|e| anyhow!("{}: {e}", table.label))?;
    let rows: Vec<_> = ch.iter().map(|c| c.calibration.rfm()).collect();
    let opts = FitOptions::default();
    let predict: Box<dyn Fn(f64, f64, f64, f64) -> f64> = match a.model {
        ClvModel::Bgnbd => {
            let m = BgNbd::fit(&rows, &opts)
                .map_err(|e| anyhow!("BG/NBD: {e}"))?
                .0;
            Box::new(move |t, x, tx, tt| m.expected_purchases(t, x, tx, tt))
        }
        ClvModel::Pnbd => {
            let m = ParetoNbd::fit(&rows, &opts)
                .map_err(|e| anyhow!("Pareto/NBD: {e}"))?
                .0;
            Box::new(move |t, x, tx, tt| m.expected_purchases(t, x, tx, tt))
        }
        other => {
            return Err(anyhow!(
                "holdout compares purchase models: --model bgnbd or pnbd, not {other:?}"
            ));
        }
    };
    let mut buckets = vec![(0usize, 0.0f64, 0.0f64); 8];
    let (mut pred_total, mut act_total, mut abs) = (0.0, 0.0, 0.0);
    for c in &ch {
        let s = &c.calibration;
        let p = predict(c.duration_holdout, s.frequency, s.recency, s.t);
        let act = c.frequency_holdout;
        pred_total += p;
        act_total += act;
        abs += (p - act).abs();
        let b = &mut buckets[(s.frequency as usize).min(7)];
        b.0 += 1;
        b.1 += act;
        b.2 += p;
    }
    let by_frequency: Vec<(usize, f64, f64)> = buckets
        .into_iter()
        .map(|(n, a, p)| {
            if n == 0 {
                (0, 0.0, 0.0)
            } else {
                (n, a / n as f64, p / n as f64)
            }
        })
        .collect();
    let h = Holdout {
        customers: ch.len(),
        predicted_total: pred_total,
        actual_total: act_total,
        mae: abs / ch.len().max(1) as f64,
        by_frequency,
    };
    std::fs::write(&a.chart, chart(&h))
        .with_context(|| format!("{}: cannot write the chart", a.chart.display()))?;
    Ok(json!({
        "customers": h.customers,
        "holdout_periods": ch.first().map(|c| c.duration_holdout),
        "predicted_purchases": h.predicted_total,
        "actual_purchases": h.actual_total,
        "aggregate_error_pct": if h.actual_total > 0.0 { 100.0 * (h.predicted_total - h.actual_total) / h.actual_total } else { f64::NAN },
        "mae_per_customer": h.mae,
        "by_calibration_frequency": h.by_frequency.iter().enumerate().map(|(f, (n, act, p))| json!({
            "frequency": if f == 7 { "7+".to_owned() } else { f.to_string() },
            "customers": n, "actual_mean": act, "predicted_mean": p,
        })).collect::<Vec<_>>(),
        "chart": a.chart.display().to_string(),
    }))
}

/// The classic calibration/holdout plot: mean holdout purchases, actual and
/// predicted, by purchases in the calibration period. Plain SVG.
pub fn chart(h: &Holdout) -> String {
    let (w, ht, left, bottom, top, right) = (640.0, 400.0, 60.0, 50.0, 40.0, 20.0);
    let ymax = h
        .by_frequency
        .iter()
        .flat_map(|(_, a, p)| [*a, *p])
        .fold(0.0f64, f64::max)
        .max(0.1)
        * 1.1;
    let x = |i: usize| left + (i as f64 + 0.5) * (w - left - right) / 8.0;
    let y = |v: f64| ht - bottom - v / ymax * (ht - bottom - top);
    let line = |pick: fn(&(usize, f64, f64)) -> f64| {
        h.by_frequency
            .iter()
            .enumerate()
            .filter(|(_, b)| b.0 > 0)
            .map(|(i, b)| format!("{:.1},{:.1}", x(i), y(pick(b))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{ht}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"24\" font-size=\"15\">Holdout purchases by calibration purchases ({} customers, MAE {:.3})</text>\n",
        h.customers, h.mae
    );
    s.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"black\"/><line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{0}\" stroke=\"black\"/>\n",
        ht - bottom,
        w - right
    ));
    for k in 0..=4 {
        let v = ymax * k as f64 / 4.0;
        s.push_str(&format!(
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{v:.2}</text>\n",
            left - 6.0,
            y(v) + 4.0
        ));
    }
    for i in 0..8 {
        let label = if i == 7 {
            "7+".to_owned()
        } else {
            i.to_string()
        };
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.0}\" text-anchor=\"middle\">{label}</text>\n",
            x(i),
            ht - bottom + 18.0
        ));
    }
    s.push_str(&format!(
        "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\">purchases in the calibration period</text>\n",
        (left + w - right) / 2.0,
        ht - 10.0
    ));
    s.push_str(&format!(
        "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{}\"/>\n",
        line(|b| b.1)
    ));
    s.push_str(&format!(
        "<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" stroke-dasharray=\"6 4\" points=\"{}\"/>\n",
        line(|b| b.2)
    ));
    s.push_str(&format!(
        "<text x=\"{0:.0}\" y=\"{top}\" fill=\"#1f77b4\">— actual</text><text x=\"{0:.0}\" y=\"{1:.0}\" fill=\"#d62728\">- - predicted</text>\n</svg>\n",
        w - right - 110.0,
        top + 16.0
    ));
    s
}
