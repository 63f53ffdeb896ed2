//! `holdfast clv fit`: maximum-likelihood fits with diagnostics, per group.

use std::time::Instant;

use anyhow::anyhow;
use serde_json::{Map, Value, json};

use crate::clv::{
    BetaGeometricBetaBinomial, BgNbd, FitDiagnostics, FitOptions, GammaGamma, ParetoNbd,
    ShiftedBetaGeometric,
};

use super::data::{Table, summaries};
use super::period;
use crate::cli::ClvFitArgs;
use crate::cli::ClvModel;

/// One fitted group, ready to print.
pub struct Fitted {
    pub group: Option<String>,
    pub model: &'static str,
    pub params: Vec<(&'static str, f64)>,
    pub diagnostics: FitDiagnostics,
    pub seconds: f64,
    pub n_customers: f64,
}

impl Fitted {
    pub fn json(&self) -> Value {
        let params: Map<String, Value> = self
            .params
            .iter()
            .map(|(n, v)| ((*n).to_owned(), json!(v)))
            .collect();
        let se: Map<String, Value> = self
            .params
            .iter()
            .zip(&self.diagnostics.std_errors)
            .map(|((n, _), s)| ((*n).to_owned(), json!(s)))
            .collect();
        let mut v = json!({
            "model": self.model,
            "params": params,
            "std_errors": se,
            "log_likelihood": self.diagnostics.log_likelihood,
            "iterations": self.diagnostics.iterations,
            "converged": self.diagnostics.converged,
            "grad_norm": self.diagnostics.grad_norm,
            "seconds": self.seconds,
            "n_customers": self.n_customers,
        });
        if let Some(g) = &self.group {
            v["group"] = json!(g);
        }
        if let Some(a) = &self.diagnostics.advice {
            v["advice"] = json!(a);
        }
        v
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(g) = &self.group {
            out.push_str(&format!("group {g}\n"));
        }
        out.push_str(&format!(
            "{} on {} customers: log-likelihood {:.4}, {} iterations, {} ({:.1} ms)\n",
            self.model,
            self.n_customers,
            self.diagnostics.log_likelihood,
            self.diagnostics.iterations,
            if self.diagnostics.converged {
                "converged"
            } else {
                "NOT converged"
            },
            self.seconds * 1e3
        ));
        for ((n, v), se) in self.params.iter().zip(&self.diagnostics.std_errors) {
            out.push_str(&format!("  {n:<6} {v:>12.6}  ± {se:.6}\n"));
        }
        if let Some(a) = &self.diagnostics.advice {
            out.push_str(&format!("  advice: {a}\n"));
        }
        out
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed().as_secs_f64())
}

pub fn run(a: &ClvFitArgs) -> anyhow::Result<Vec<Fitted>> {
    let table = Table::read(&a.data)?;
    let opts = FitOptions {
        penalizer: a.penalizer,
        ..FitOptions::default()
    };
    let mut out = Vec::new();
    for (group, rows) in table.groups(a.group_by.as_deref())? {
        let group = a.group_by.as_ref().map(|_| group);
        let label = |e: crate::clv::ClvError| {
            anyhow!(
                "{}{}: {e}",
                table.label,
                group
                    .as_ref()
                    .map(|g| format!(" (group {g})"))
                    .unwrap_or_default()
            )
        };
        let rfm = || -> anyhow::Result<Vec<crate::clv::RfmRow>> {
            if a.transactions {
                Ok(summaries(
                    &table,
                    &rows,
                    a.calibration_end.as_deref(),
                    period(a.period),
                )?
                .1)
            } else {
                table.rfm(&rows)
            }
        };
        let fitted = match a.model {
            ClvModel::Bgnbd => {
                let data = rfm()?;
                let (r, s) = timed(|| BgNbd::fit(&data, &opts));
                let (m, d) = r.map_err(label)?;
                (
                    m.params(),
                    d,
                    s,
                    data.iter().map(|r| r.weight).sum(),
                    "bgnbd",
                )
            }
            ClvModel::Pnbd => {
                let data = rfm()?;
                let (r, s) = timed(|| ParetoNbd::fit(&data, &opts));
                let (m, d) = r.map_err(label)?;
                (
                    m.params(),
                    d,
                    s,
                    data.iter().map(|r| r.weight).sum(),
                    "pnbd",
                )
            }
            ClvModel::Gg => {
                let data: Vec<_> = rfm()?.into_iter().filter(|r| r.frequency > 0.0).collect();
                let (r, s) = timed(|| GammaGamma::fit(&data, &opts));
                let (m, d) = r.map_err(label)?;
                (m.params(), d, s, data.iter().map(|r| r.weight).sum(), "gg")
            }
            ClvModel::Sbg => {
                let data = table.sbg(&rows)?;
                let (r, s) = timed(|| ShiftedBetaGeometric::fit(&data, &opts));
                let (m, d) = r.map_err(label)?;
                (m.params(), d, s, data.iter().map(|o| o.weight).sum(), "sbg")
            }
            ClvModel::Bgbb => {
                let data = table.bgbb(&rows)?;
                let (r, s) = timed(|| BetaGeometricBetaBinomial::fit(&data, &opts));
                let (m, d) = r.map_err(label)?;
                (
                    m.params(),
                    d,
                    s,
                    data.iter().map(|o| o.weight).sum(),
                    "bgbb",
                )
            }
        };
        let (params, diagnostics, seconds, n_customers, model) = fitted;
        out.push(Fitted {
            group,
            model,
            params,
            diagnostics,
            seconds,
            n_customers,
        });
    }
    Ok(out)
}
