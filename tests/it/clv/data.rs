//! Loaders for ../shared/data/clv (read-only) and tests/fixtures.

use holdfast::clv::{BgBbRow, RfmRow, SbgObservation, Transaction, parse_ymd};

/// The shared CLV data sets (read-only), beside the project as ../shared.
pub fn data_dir() -> String {
    format!("{}/../shared/data/clv", env!("CARGO_MANIFEST_DIR"))
}

fn reader(path: &str) -> csv::Reader<std::fs::File> {
    csv::Reader::from_path(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn num(rec: &csv::StringRecord, i: usize) -> f64 {
    rec[i]
        .parse()
        .unwrap_or_else(|e| panic!("bad number {:?}: {e}", &rec[i]))
}

/// cdnow_summary_rfm.csv: customer_id, frequency, recency, T, monetary_value.
pub fn cdnow_rfm() -> Vec<RfmRow> {
    reader(&format!("{}/cdnow_summary_rfm.csv", data_dir()))
        .records()
        .map(|r| {
            let r = r.expect("record");
            RfmRow::new(num(&r, 1), num(&r, 2), num(&r, 3), num(&r, 4))
        })
        .collect()
}

/// cdnow_sample_transactions.csv: customer_id, master_id, date, cds_bought, spent.
pub fn cdnow_transactions() -> Vec<Transaction<u32>> {
    reader(&format!("{}/cdnow_sample_transactions.csv", data_dir()))
        .records()
        .map(|r| {
            let r = r.expect("record");
            Transaction {
                customer: r[0].parse().expect("id"),
                day: parse_ymd(&r[2]).expect("date"),
                amount: num(&r, 4),
            }
        })
        .collect()
}

pub fn donations() -> Vec<BgBbRow> {
    reader(&format!("{}/donations_bgbb_aggregated.csv", data_dir()))
        .records()
        .map(|r| {
            let r = r.expect("record");
            BgBbRow {
                frequency: r[0].parse().expect("x"),
                recency: r[1].parse().expect("tx"),
                n_periods: r[2].parse().expect("n"),
                weight: num(&r, 3),
            }
        })
        .collect()
}

/// sbg_cohorts_individual.csv split by cohort name.
pub fn sbg_cohort(name: &str) -> Vec<SbgObservation> {
    reader(&format!("{}/sbg_cohorts_individual.csv", data_dir()))
        .records()
        .filter_map(|r| {
            let r = r.expect("record");
            (&r[3] == name).then(|| {
                SbgObservation::from_recency(
                    r[1].parse().expect("recency"),
                    r[2].parse().expect("T"),
                )
                .expect("valid")
            })
        })
        .collect()
}

/// A lifetimes-generated fixture as rows of numbers (first column = id).
pub fn fixture(name: &str) -> Vec<Vec<f64>> {
    let path = format!("{}/tests/fixtures/clv/{name}", env!("CARGO_MANIFEST_DIR"));
    reader(&path)
        .records()
        .map(|r| {
            let r = r.expect("record");
            (0..r.len()).map(|i| num(&r, i)).collect()
        })
        .collect()
}
