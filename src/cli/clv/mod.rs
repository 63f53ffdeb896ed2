//! `holdfast clv …`: customer-value models on files (CSV in, JSON/CSV out).

pub(crate) mod data;
mod fit;
mod holdout;
mod predict;

use std::process::ExitCode;

use crate::clv::Period;

use super::{ClvCommand, PeriodArg};

fn period(p: PeriodArg) -> Period {
    match p {
        PeriodArg::Day => Period::Day,
        PeriodArg::Week => Period::Week,
        PeriodArg::Month => Period::Month,
    }
}

pub fn run(cmd: ClvCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ClvCommand::Fit(a) => {
            let fits = fit::run(&a)?;
            for f in &fits {
                if a.json {
                    println!("{}", f.json());
                } else {
                    print!("{}", f.text());
                }
            }
            Ok(if fits.iter().all(|f| f.diagnostics.converged) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(4)
            })
        }
        ClvCommand::Predict(a) => {
            let n = predict::run(&a)?;
            if let Some(p) = &a.out {
                eprintln!("wrote predictions for {n} customers to {}", p.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        ClvCommand::Holdout(a) => {
            let report = holdout::run(&a)?;
            if a.json {
                println!("{report}");
            } else {
                println!(
                    "{} customers: predicted {:.1} holdout purchases, actual {:.1} ({:+.1}%); MAE per customer {:.3}; chart: {}",
                    report["customers"],
                    report["predicted_purchases"].as_f64().unwrap_or(f64::NAN),
                    report["actual_purchases"].as_f64().unwrap_or(f64::NAN),
                    report["aggregate_error_pct"].as_f64().unwrap_or(f64::NAN),
                    report["mae_per_customer"].as_f64().unwrap_or(f64::NAN),
                    report["chart"].as_str().unwrap_or("")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
