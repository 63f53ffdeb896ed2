//! Reading the CLV input files: per-customer summaries, sBG and BG/BB
//! data, or raw transactions, with errors that name the file and line.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, anyhow};

use crate::clv::{
    BgBbRow, Period, RfmRow, SbgObservation, Transaction, parse_ymd, summary_from_transactions,
};
use crate::pipeline::import::split;

/// A CSV file as named columns, read strictly (one record per line).
pub struct Table {
    pub label: String,
    columns: Vec<String>,
    pub rows: Vec<(u64, Vec<String>)>,
}

impl Table {
    pub fn read(path: &Path) -> anyhow::Result<Table> {
        let label = path.display().to_string();
        let text =
            std::fs::read_to_string(path).with_context(|| format!("{label}: cannot read"))?;
        let mut lines = text.lines().enumerate();
        let (_, header) = lines
            .next()
            .ok_or_else(|| anyhow!("{label}:1: the file is empty"))?;
        let columns: Vec<String> = split(header.trim_start_matches('\u{feff}'))
            .map_err(|e| anyhow!("{label}:1: {e}"))?
            .into_iter()
            .map(|c| c.trim().to_owned())
            .collect();
        let mut rows = Vec::new();
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let n = i as u64 + 1;
            let fields = split(line).map_err(|e| anyhow!("{label}:{n}: {e}"))?;
            if fields.len() != columns.len() {
                return Err(anyhow!(
                    "{label}:{n}: {} fields, the header has {}",
                    fields.len(),
                    columns.len()
                ));
            }
            rows.push((n, fields));
        }
        Ok(Table {
            label,
            columns,
            rows,
        })
    }

    pub fn index(&self, name: &str) -> anyhow::Result<usize> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| {
            anyhow!(
                "{}:1: column {name:?} is missing (columns: {})",
                self.label,
                self.columns.join(", ")
            )
        })
    }

    fn num(&self, line: u64, row: &[String], col: usize) -> anyhow::Result<f64> {
        let raw = row[col].trim();
        raw.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                anyhow!(
                    "{}:{line}: {}: {raw:?} is not a number",
                    self.label,
                    self.columns[col]
                )
            })
    }

    fn int(&self, line: u64, row: &[String], col: usize) -> anyhow::Result<u32> {
        let raw = row[col].trim();
        raw.parse::<u32>()
            .ok()
            .or_else(|| {
                raw.parse::<f64>()
                    .ok()
                    .filter(|v| v.fract() == 0.0 && *v >= 0.0)
                    .map(|v| v as u32)
            })
            .ok_or_else(|| {
                anyhow!(
                    "{}:{line}: {}: {raw:?} is not a whole number",
                    self.label,
                    self.columns[col]
                )
            })
    }

    /// Splits rows by the value of `column` (all rows in one group "" without).
    pub fn groups(&self, column: Option<&str>) -> anyhow::Result<BTreeMap<String, Vec<usize>>> {
        let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let col = column.map(|c| self.index(c)).transpose()?;
        for (i, (_, row)) in self.rows.iter().enumerate() {
            let key = col.map(|c| row[c].trim().to_owned()).unwrap_or_default();
            out.entry(key).or_default().push(i);
        }
        Ok(out)
    }

    /// `frequency, recency, T[, monetary_value]` rows.
    pub fn rfm(&self, which: &[usize]) -> anyhow::Result<Vec<RfmRow>> {
        let (f, r, t) = (
            self.index("frequency")?,
            self.index("recency")?,
            self.index("T")?,
        );
        let m = self.index("monetary_value").ok();
        which
            .iter()
            .map(|&i| {
                let (line, row) = &self.rows[i];
                let money = m
                    .map(|c| self.num(*line, row, c))
                    .transpose()?
                    .unwrap_or(0.0);
                Ok(RfmRow::new(
                    self.num(*line, row, f)?,
                    self.num(*line, row, r)?,
                    self.num(*line, row, t)?,
                    money,
                ))
            })
            .collect()
    }

    /// `recency, T` rows (pymc-marketing's individual sBG convention).
    pub fn sbg(&self, which: &[usize]) -> anyhow::Result<Vec<SbgObservation>> {
        let (r, t) = (self.index("recency")?, self.index("T")?);
        which
            .iter()
            .map(|&i| {
                let (line, row) = &self.rows[i];
                SbgObservation::from_recency(self.int(*line, row, r)?, self.int(*line, row, t)?)
                    .map_err(|e| anyhow!("{}:{line}: {e}", self.label))
            })
            .collect()
    }

    /// `frequency, recency, periods, weights` rows (aggregated BG/BB data).
    pub fn bgbb(&self, which: &[usize]) -> anyhow::Result<Vec<BgBbRow>> {
        let (f, r, n) = (
            self.index("frequency")?,
            self.index("recency")?,
            self.index("periods")?,
        );
        let w = self.index("weights").ok();
        which
            .iter()
            .map(|&i| {
                let (line, row) = &self.rows[i];
                Ok(BgBbRow {
                    frequency: self.int(*line, row, f)?,
                    recency: self.int(*line, row, r)?,
                    n_periods: self.int(*line, row, n)?,
                    weight: w
                        .map(|c| self.num(*line, row, c))
                        .transpose()?
                        .unwrap_or(1.0),
                })
            })
            .collect()
    }

    /// `customer_id, date, spent` rows. Dates are `YYYY-MM-DD` (a longer
    /// timestamp's date part is used).
    pub fn transactions(&self, which: &[usize]) -> anyhow::Result<Vec<Transaction<String>>> {
        let (c, d, s) = (
            self.index("customer_id")?,
            self.index("date")?,
            self.index("spent")?,
        );
        which
            .iter()
            .map(|&i| {
                let (line, row) = &self.rows[i];
                let date = row[d].trim();
                let day = parse_ymd(date.get(..10).unwrap_or(date))
                    .map_err(|e| anyhow!("{}:{line}: date: {e}", self.label))?;
                Ok(Transaction {
                    customer: row[c].trim().to_owned(),
                    day,
                    amount: self.num(*line, row, s)?,
                })
            })
            .collect()
    }
}

/// Customers' summaries from transactions, at `end` (default: the last date).
pub fn summaries(
    table: &Table,
    which: &[usize],
    end: Option<&str>,
    period: Period,
) -> anyhow::Result<(Vec<String>, Vec<RfmRow>)> {
    let tx = table.transactions(which)?;
    let end = match end {
        Some(e) => parse_ymd(e).map_err(|e| anyhow!("--calibration-end: {e}"))?,
        None => tx
            .iter()
            .map(|t| t.day)
            .max()
            .ok_or_else(|| anyhow!("{}: no transactions", table.label))?,
    };
    let s =
        summary_from_transactions(&tx, end, period).map_err(|e| anyhow!("{}: {e}", table.label))?;
    Ok(s.iter().map(|c| (c.customer.clone(), c.rfm())).unzip())
}
