//! `holdfast clv predict`: per-customer P(alive), expected purchases,
//! expected spend and CLV, written as CSV.

use std::io::Write;

use anyhow::{Context, anyhow};
use indicatif::{ProgressBar, ProgressStyle};

use crate::clv::{
    BgNbd, ClvOptions, FitOptions, GammaGamma, ParetoNbd, RfmRow, TransactionModel,
    customer_lifetime_value,
};

use super::data::{Table, summaries};
use super::period;
use crate::cli::ClvModel;
use crate::cli::ClvPredictArgs;

enum Model {
    Bg(BgNbd),
    Pareto(ParetoNbd),
}

impl Model {
    fn p_alive(&self, r: &RfmRow) -> f64 {
        match self {
            Model::Bg(m) => m.p_alive(r.frequency, r.recency, r.t),
            Model::Pareto(m) => m.p_alive(r.frequency, r.recency, r.t),
        }
    }
    fn expected(&self, t: f64, r: &RfmRow) -> f64 {
        match self {
            Model::Bg(m) => m.expected_purchases(t, r.frequency, r.recency, r.t),
            Model::Pareto(m) => m.expected_purchases(t, r.frequency, r.recency, r.t),
        }
    }
    fn clv(&self, spend: f64, r: &RfmRow, o: &ClvOptions) -> f64 {
        match self {
            Model::Bg(m) => customer_lifetime_value(
                m as &dyn TransactionModel,
                spend,
                r.frequency,
                r.recency,
                r.t,
                o,
            ),
            Model::Pareto(m) => customer_lifetime_value(
                m as &dyn TransactionModel,
                spend,
                r.frequency,
                r.recency,
                r.t,
                o,
            ),
        }
    }
}

pub fn run(a: &ClvPredictArgs) -> anyhow::Result<usize> {
    let table = Table::read(&a.data)?;
    let all: Vec<usize> = (0..table.rows.len()).collect();
    let (ids, rows) = if a.transactions {
        summaries(&table, &all, a.calibration_end.as_deref(), period(a.period))?
    } else {
        let ids = match table.index("customer_id") {
            Ok(c) => table.rows.iter().map(|(_, r)| r[c].clone()).collect(),
            Err(_) => table
                .rows
                .iter()
                .map(|(line, _)| format!("line {line}"))
                .collect(),
        };
        (ids, table.rfm(&all)?)
    };
    let opts = FitOptions::default();
    let model = match a.model {
        ClvModel::Bgnbd => Model::Bg(
            BgNbd::fit(&rows, &opts)
                .map_err(|e| anyhow!("{}: BG/NBD: {e}", table.label))?
                .0,
        ),
        ClvModel::Pnbd => Model::Pareto(
            ParetoNbd::fit(&rows, &opts)
                .map_err(|e| anyhow!("{}: Pareto/NBD: {e}", table.label))?
                .0,
        ),
        other => {
            return Err(anyhow!(
                "predict uses a purchase model: --model bgnbd or pnbd, not {other:?}"
            ));
        }
    };
    let repeaters: Vec<RfmRow> = rows
        .iter()
        .filter(|r| r.frequency > 0.0 && r.monetary_value > 0.0)
        .cloned()
        .collect();
    // Without spend data (or too few repeat buyers) CLV is left empty rather
    // than guessed.
    let spend = if repeaters.len() >= 10 {
        GammaGamma::fit(&repeaters, &opts).ok().map(|(m, _)| m)
    } else {
        None
    };
    let mut clv_opts = ClvOptions::for_period(period(a.period));
    clv_opts.months = a.months;
    clv_opts.monthly_discount_rate = a.discount;
    clv_opts.margin = a.margin;
    let mut out: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("{}: cannot create", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    writeln!(
        out,
        "customer_id,frequency,recency,T,monetary_value,p_alive,expected_purchases,expected_spend,clv"
    )?;
    let bar = ProgressBar::new(rows.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} customers {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    for (i, (id, r)) in ids.iter().zip(&rows).enumerate() {
        let (s, c) = match &spend {
            Some(g) => {
                let s = g.expected_average_spend(r.frequency, r.monetary_value);
                (
                    format!("{s:.4}"),
                    format!("{:.4}", model.clv(s, r, &clv_opts)),
                )
            }
            None => (String::new(), String::new()),
        };
        let id = if id.contains([',', '"']) {
            format!("\"{}\"", id.replace('"', "\"\""))
        } else {
            id.clone()
        };
        writeln!(
            out,
            "{id},{},{},{},{},{:.6},{:.6},{s},{c}",
            r.frequency,
            r.recency,
            r.t,
            r.monetary_value,
            model.p_alive(r),
            model.expected(a.horizon, r)
        )?;
        if i % 4096 == 0 {
            bar.set_position(i as u64);
        }
    }
    bar.finish_and_clear();
    out.flush()?;
    Ok(rows.len())
}
