use super::*;

fn day(s: &str) -> i32 {
    parse_ymd(s).expect("valid date")
}

#[test]
fn civil_dates_roundtrip() {
    assert_eq!(day("1970-01-01"), 0);
    assert_eq!(day("1997-09-30"), 10134);
    assert_eq!(day("2000-03-01") - day("2000-02-28"), 2);
    for d in [-800_000, -1, 0, 59, 10_000, 2_932_896] {
        let (y, m, dd) = civil_from_days(d);
        assert_eq!(days_from_civil(y, m, dd), d);
    }
    for bad in [
        "1997-02-29",
        "1997-13-01",
        "97-01-01",
        "1997-1-01",
        "abc",
        "1997-01-00",
    ] {
        assert!(parse_ymd(bad).is_err(), "{bad}");
    }
}

#[test]
fn periods_floor_like_pandas() {
    // 1997-09-30 is a Tuesday; its W-SUN period starts Monday 1997-09-29.
    assert_eq!(Period::Week.start(day("1997-09-30")), day("1997-09-29"));
    assert_eq!(Period::Week.start(day("1997-09-28")), day("1997-09-22"));
    assert_eq!(Period::Month.start(day("1997-09-30")), day("1997-09-01"));
    assert_eq!(
        Period::Month.periods_between(day("1997-09-30"), day("1998-06-30")),
        9
    );
    assert_eq!(
        Period::Week.periods_between(day("1997-09-30"), day("1998-06-30")),
        39
    );
}

fn tx(c: u32, d: &str, amount: f64) -> Transaction<u32> {
    Transaction {
        customer: c,
        day: day(d),
        amount,
    }
}

#[test]
fn same_period_purchases_collapse_and_first_period_is_not_spend() {
    let t = vec![
        tx(2, "2020-01-06", 10.0),
        tx(1, "2020-01-01", 100.0),
        tx(1, "2020-01-01", 5.0),
        tx(1, "2020-01-03", 20.0),
        tx(1, "2020-01-03", 30.0),
        tx(1, "2020-01-10", 7.0),
        tx(1, "2020-02-01", 999.0),
    ];
    let s = summary_from_transactions(&t, day("2020-01-20"), Period::Day).expect("valid");
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0].customer, s[0].frequency, s[0].recency, s[0].t),
        (1, 2.0, 9.0, 19.0)
    );
    assert_eq!(s[0].monetary_value, (50.0 + 7.0) / 2.0);
    assert_eq!(
        (s[1].frequency, s[1].recency, s[1].t, s[1].monetary_value),
        (0.0, 0.0, 14.0, 0.0)
    );
    let w = summary_from_transactions(&t, day("2020-01-20"), Period::Week).expect("valid");
    // 2020-01-01 (Wed) and 01-03 share the week of Mon 2019-12-30; 01-10 is a week later.
    assert_eq!(
        (w[0].frequency, w[0].recency, w[0].t, w[0].monetary_value),
        (1.0, 1.0, 3.0, 7.0)
    );
}

#[test]
fn holdout_counts_distinct_periods() {
    let t = vec![
        tx(1, "2020-01-01", 10.0),
        tx(1, "2020-02-02", 4.0),
        tx(1, "2020-02-02", 6.0),
        tx(1, "2020-02-05", 2.0),
        tx(2, "2020-01-15", 3.0),
        tx(3, "2020-02-10", 3.0),
    ];
    let ch = calibration_and_holdout(&t, day("2020-01-31"), day("2020-02-29"), Period::Day)
        .expect("valid");
    assert_eq!(ch.len(), 2, "customer 3 appears only in the holdout");
    assert_eq!(ch[0].frequency_holdout, 2.0);
    assert_eq!(ch[0].monetary_value_holdout, 4.0);
    assert_eq!(ch[0].duration_holdout, 29.0);
    assert_eq!(
        (ch[1].frequency_holdout, ch[1].monetary_value_holdout),
        (0.0, 0.0)
    );
    assert!(
        calibration_and_holdout(&t, day("2020-02-29"), day("2020-01-31"), Period::Day).is_err()
    );
}

#[test]
fn bad_transactions_are_errors() {
    assert!(summary_from_transactions::<u32>(&[], 0, Period::Day).is_err());
    assert!(
        summary_from_transactions(&[tx(1, "2020-01-01", -1.0)], day("2020-02-01"), Period::Day)
            .is_err()
    );
    assert!(
        summary_from_transactions(
            &[tx(1, "2020-01-01", f64::NAN)],
            day("2020-02-01"),
            Period::Day
        )
        .is_err()
    );
    assert!(
        summary_from_transactions(&[tx(1, "2020-03-01", 1.0)], day("2020-02-01"), Period::Day)
            .is_err()
    );
}
