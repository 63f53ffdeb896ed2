//! The RFM row every transaction model fits on, its validation, and the
//! column layout the likelihoods iterate over.

use std::collections::HashMap;

use super::error::ClvError;

/// One customer (or, with `weight > 1`, a group of identical customers).
///
/// Conventions follow lifetimes: `frequency` = number of repeat purchase
/// periods (x), `recency` = time of the last repeat purchase since the first
/// purchase (tₓ), `t` = time since the first purchase to the end of the
/// calibration period (T), `monetary_value` = mean value of the repeat
/// purchases (0 when x = 0). Times are in any one unit (days, weeks…).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfmRow {
    pub frequency: f64,
    pub recency: f64,
    pub t: f64,
    pub monetary_value: f64,
    pub weight: f64,
}

impl RfmRow {
    /// A single customer (weight 1).
    pub fn new(frequency: f64, recency: f64, t: f64, monetary_value: f64) -> Self {
        Self {
            frequency,
            recency,
            t,
            monetary_value,
            weight: 1.0,
        }
    }
}

fn finite(row: usize, field: &'static str, value: f64) -> Result<(), ClvError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(ClvError::NonFinite { row, field, value })
    }
}

fn invalid(row: usize, message: String) -> ClvError {
    ClvError::InvalidRow { row, message }
}

/// Checks what every transaction model needs: finite values, integer
/// x ≥ 0, 0 ≤ tₓ ≤ T, T > 0, tₓ = 0 exactly when x = 0, weight ≥ 0, and a
/// positive total weight.
pub(crate) fn validate_rfm(rows: &[RfmRow]) -> Result<(), ClvError> {
    if rows.is_empty() {
        return Err(ClvError::EmptyData("no RFM rows"));
    }
    let mut total = 0.0;
    for (i, r) in rows.iter().enumerate() {
        finite(i, "frequency", r.frequency)?;
        finite(i, "recency", r.recency)?;
        finite(i, "T", r.t)?;
        finite(i, "monetary_value", r.monetary_value)?;
        finite(i, "weight", r.weight)?;
        if r.frequency < 0.0 || r.frequency.fract() != 0.0 || r.frequency > u32::MAX as f64 {
            return Err(invalid(
                i,
                format!("frequency must be a whole number ≥ 0, got {}", r.frequency),
            ));
        }
        if r.recency < 0.0 {
            return Err(invalid(
                i,
                format!("recency must be ≥ 0, got {}", r.recency),
            ));
        }
        if r.t <= 0.0 {
            return Err(invalid(i, format!("T must be > 0, got {}", r.t)));
        }
        if r.recency > r.t {
            return Err(invalid(
                i,
                format!("recency {} exceeds T {}", r.recency, r.t),
            ));
        }
        if r.frequency == 0.0 && r.recency != 0.0 {
            return Err(invalid(
                i,
                format!("frequency 0 needs recency 0, got {}", r.recency),
            ));
        }
        if r.frequency > 0.0 && r.recency == 0.0 {
            return Err(invalid(
                i,
                format!(
                    "frequency {} with recency 0: repeat purchases need recency > 0",
                    r.frequency
                ),
            ));
        }
        if r.monetary_value < 0.0 {
            return Err(invalid(
                i,
                format!("monetary_value must be ≥ 0, got {}", r.monetary_value),
            ));
        }
        if r.weight < 0.0 {
            return Err(invalid(i, format!("weight must be ≥ 0, got {}", r.weight)));
        }
        total += r.weight;
    }
    if total <= 0.0 || !total.is_finite() {
        return Err(ClvError::EmptyData("all RFM rows have zero weight"));
    }
    Ok(())
}

/// Merges rows with identical (frequency, recency, T), summing weights.
///
/// The transaction models' likelihoods depend on nothing else, so fitting
/// the merged rows gives the same estimates for less work. The merged
/// `monetary_value` is the weight-averaged mean, meaningful only as a
/// summary (fit Gamma-Gamma on the original rows). Zero-weight rows are
/// dropped. First-seen order is kept.
pub fn compress_rfm(rows: &[RfmRow]) -> Vec<RfmRow> {
    let mut index: HashMap<(u64, u64, u64), usize> = HashMap::with_capacity(rows.len() / 4);
    let mut out: Vec<RfmRow> = Vec::new();
    for r in rows.iter().filter(|r| r.weight > 0.0) {
        let key = (r.frequency.to_bits(), r.recency.to_bits(), r.t.to_bits());
        match index.get(&key) {
            Some(&k) => {
                let o = &mut out[k];
                let w = o.weight + r.weight;
                o.monetary_value = (o.monetary_value * o.weight + r.monetary_value * r.weight) / w;
                o.weight = w;
            }
            None => {
                index.insert(key, out.len());
                out.push(*r);
            }
        }
    }
    out
}

/// Share of duplicate rows in the first rows, deciding whether merging is
/// worth its hashing cost (simulated continuous-time data has none).
fn worth_compressing(rows: &[RfmRow]) -> bool {
    let probe = &rows[..rows.len().min(20_000)];
    compress_rfm(probe).len() as f64 <= 0.8 * probe.len() as f64
}

/// Structure-of-arrays view of RFM rows for the BG/NBD and Pareto/NBD
/// likelihoods: times rescaled by `scale` = 1 / max T (as lifetimes does, so
/// rate parameters start near 1 and penalties mean the same thing), and the
/// distinct frequencies listed once so the terms that depend on x alone are
/// computed once per distinct x instead of once per row.
#[derive(Debug, Clone)]
pub(crate) struct RfmColumns {
    pub scale: f64,
    /// Distinct frequencies, ascending.
    pub xs: Vec<f64>,
    /// Total weight of the rows with frequency `xs[k]`.
    pub weight_per_x: Vec<f64>,
    pub x_idx: Vec<u32>,
    pub tx: Vec<f64>,
    pub t: Vec<f64>,
    pub w: Vec<f64>,
    pub total_weight: f64,
}

impl RfmColumns {
    /// Builds the columns from validated rows, merging duplicates when a
    /// probe shows enough of them.
    pub fn build(rows: &[RfmRow]) -> Self {
        let merged;
        let rows = if worth_compressing(rows) {
            merged = compress_rfm(rows);
            &merged[..]
        } else {
            rows
        };
        let max_t = rows.iter().fold(0.0f64, |m, r| m.max(r.t));
        let scale = 1.0 / max_t;
        let mut xs: Vec<f64> = rows.iter().map(|r| r.frequency).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let pos: HashMap<u64, u32> = xs
            .iter()
            .enumerate()
            .map(|(k, x)| (x.to_bits(), k as u32))
            .collect();
        let mut weight_per_x = vec![0.0; xs.len()];
        let mut cols = Self {
            scale,
            xs: Vec::new(),
            weight_per_x: Vec::new(),
            x_idx: Vec::with_capacity(rows.len()),
            tx: Vec::with_capacity(rows.len()),
            t: Vec::with_capacity(rows.len()),
            w: Vec::with_capacity(rows.len()),
            total_weight: 0.0,
        };
        for r in rows.iter().filter(|r| r.weight > 0.0) {
            let k = pos[&r.frequency.to_bits()];
            weight_per_x[k as usize] += r.weight;
            cols.x_idx.push(k);
            cols.tx.push(r.recency * scale);
            cols.t.push(r.t * scale);
            cols.w.push(r.weight);
            cols.total_weight += r.weight;
        }
        cols.xs = xs;
        cols.weight_per_x = weight_per_x;
        cols
    }

    pub fn len(&self) -> usize {
        self.w.len()
    }

    /// Every `stride`-th row (for the large-data warm start).
    pub fn every_nth(&self, stride: usize) -> Self {
        let stride = stride.max(1);
        let mut out = Self {
            scale: self.scale,
            xs: self.xs.clone(),
            weight_per_x: vec![0.0; self.xs.len()],
            x_idx: Vec::new(),
            tx: Vec::new(),
            t: Vec::new(),
            w: Vec::new(),
            total_weight: 0.0,
        };
        for i in (0..self.len()).step_by(stride) {
            let k = self.x_idx[i];
            out.weight_per_x[k as usize] += self.w[i];
            out.x_idx.push(k);
            out.tx.push(self.tx[i]);
            out.t.push(self.t[i]);
            out.w.push(self.w[i]);
            out.total_weight += self.w[i];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_rejects_bad_rows() {
        let ok = RfmRow::new(2.0, 3.0, 5.0, 10.0);
        assert!(validate_rfm(&[ok]).is_ok());
        let cases = [
            RfmRow::new(-1.0, 0.0, 5.0, 0.0),
            RfmRow::new(1.5, 2.0, 5.0, 0.0),
            RfmRow::new(2.0, 6.0, 5.0, 0.0),
            RfmRow::new(0.0, 1.0, 5.0, 0.0),
            RfmRow::new(2.0, 0.0, 5.0, 0.0),
            RfmRow::new(2.0, 1.0, f64::NAN, 0.0),
            RfmRow::new(2.0, 1.0, 0.0, 0.0),
            RfmRow::new(2.0, 1.0, 5.0, -3.0),
            RfmRow { weight: -1.0, ..ok },
        ];
        for c in cases {
            assert!(validate_rfm(&[ok, c]).is_err(), "{c:?} accepted");
        }
        assert!(matches!(validate_rfm(&[]), Err(ClvError::EmptyData(_))));
        assert!(matches!(
            validate_rfm(&[RfmRow { weight: 0.0, ..ok }]),
            Err(ClvError::EmptyData(_))
        ));
    }

    #[test]
    fn compression_sums_weights() {
        let a = RfmRow::new(1.0, 2.0, 5.0, 10.0);
        let b = RfmRow::new(1.0, 2.0, 5.0, 20.0);
        let c = RfmRow::new(0.0, 0.0, 5.0, 0.0);
        let out = compress_rfm(&[a, c, b]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].weight, 2.0);
        assert_eq!(out[0].monetary_value, 15.0);
    }
}
