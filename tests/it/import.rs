//! CSV import on the shared evaluation files: every good row imports, every
//! bad row is rejected for the reason its `expected_error` names, and a
//! second run imports nothing twice.

use std::io::BufReader;

use holdfast::pipeline::import::{ImportOptions, ImportReport, import_customers, import_events};
use holdfast::pipeline::parse::IngestPolicy;

use crate::helpers::{Db, shared, spawn_app};

async fn events(app: &crate::helpers::TestApp, file: &str) -> ImportReport {
    let f = std::fs::File::open(shared(file)).expect("shared eval file");
    import_events(
        &app.store,
        &IngestPolicy::default(),
        3,
        BufReader::new(f),
        &ImportOptions::default(),
        &|_| {},
    )
    .await
    .expect("import runs")
}

async fn customers(app: &crate::helpers::TestApp, file: &str) -> ImportReport {
    let f = std::fs::File::open(shared(file)).expect("shared eval file");
    import_customers(
        &app.store,
        &IngestPolicy::default(),
        BufReader::new(f),
        file,
        &ImportOptions::default(),
        &|_| {},
    )
    .await
    .expect("import runs")
}

/// For each bad row (by its first field), words our reason must contain.
const BAD_EVENTS: &[(&str, &str)] = &[
    ("E90001", "February 30 does not exist"),
    ("E90002", "month 13"),
    ("E90003", "no UTC offset"),
    ("E90004", "not an RFC 3339"),
    ("E90006", "hour 25"),
    ("E90007", "in the future"),
    ("E90009", "must be positive"),
    ("E90010", "refunds are stored as positive"),
    ("E90011", "amount: is required"),
    ("E90012", "carry no money"),
    ("E90014", "separator"),
    ("E90015", "unknown kind \"purchase\""),
    ("E90018", "unknown channel \"whatsapp\""),
    ("E90019", "customer_id: is missing"),
    ("E00018", "already belongs to a different event"),
    ("E90027", "separator"),
    ("E90028", "the row has 8 fields but the header has 7"),
    ("E90029", "stray double quote"),
    ("E90030", "unterminated quoted field"),
];

const BAD_PROFILES: &[(&str, &str)] = &[
    ("C901", "phone: contains 'З'"),
    ("C902", "phone: contains 'l'"),
    ("C903", "phone: contains 'O'"),
    ("C904", "phone: is not a valid number"),
    ("C905", "phone: is not a valid number"),
    ("C906", "email: has 2 @ signs"),
    ("C907", "email: has no @"),
    ("C908", "cannot be reached or matched"),
    ("C001", "already has a different email"),
    ("C909", "Telegram requires 5 to 32"),
];

fn first_fields(file: &str) -> Vec<(u64, String)> {
    std::fs::read_to_string(shared(file))
        .expect("shared eval file")
        .lines()
        .enumerate()
        .skip(1)
        .map(|(i, l)| (i as u64 + 1, l.split(',').next().unwrap_or("").to_owned()))
        .collect()
}

fn check_reasons(report: &ImportReport, file: &str, expected: &[(&str, &str)]) {
    let lines = first_fields(file);
    for (id, words) in expected {
        let line = lines
            .iter()
            .find(|(_, f)| f == id)
            .map(|(l, _)| *l)
            .expect("row in file");
        let err = report
            .errors
            .iter()
            .find(|e| e.line == line)
            .unwrap_or_else(|| panic!("{file}:{line} ({id}) was not rejected"));
        assert!(
            err.error.contains(words),
            "{file}:{line} ({id}): {:?} does not say {words:?}",
            err.error
        );
    }
}

async fn shared_csv_files_import_exactly(db: Db) {
    let app = spawn_app(db).await;
    let p = customers(&app, "eval/customers/profiles.csv").await;
    assert_eq!((p.imported, p.rejected), (60, 0), "{:?}", p.errors);
    assert_eq!(p.unknown_columns, vec!["archetype"]);
    let e = events(&app, "eval/customers/events.csv").await;
    assert_eq!(
        (e.imported, e.skipped, e.rejected),
        (2972, 0, 0),
        "{:?}",
        e.errors
    );
    assert_eq!(app.store.count_events().await.unwrap(), 2972);

    let bad = events(&app, "eval/customers/bad_events.csv").await;
    assert_eq!(bad.imported, 0, "no bad row imports: {:?}", bad);
    assert_eq!(bad.skipped, 1, "the exact copy of E00017 is skipped");
    assert_eq!(bad.rejected, 19);
    assert_eq!(bad.unknown_columns, vec!["expected_error"]);
    check_reasons(&bad, "eval/customers/bad_events.csv", BAD_EVENTS);
    assert_eq!(app.store.count_events().await.unwrap(), 2972);

    let badp = customers(&app, "eval/customers/bad_profiles.csv").await;
    assert_eq!((badp.imported, badp.rejected), (0, 10), "{:?}", badp);
    check_reasons(&badp, "eval/customers/bad_profiles.csv", BAD_PROFILES);
    // The conflicting C001 row was recorded for an operator, not merged.
    let c001 = app
        .store
        .find_customer(holdfast::domain::IdKind::External, "C001")
        .await
        .unwrap()
        .expect("C001 exists");
    let view = app.store.customer(c001).await.unwrap().unwrap();
    assert_eq!(
        view.identity.email.unwrap().as_str(),
        "sergey.pavlov@yandex.example"
    );
    assert!(view.open_conflicts >= 1);

    // Running everything again imports nothing twice.
    let again = events(&app, "eval/customers/events.csv").await;
    assert_eq!((again.imported, again.skipped), (0, 2972));
    let again = customers(&app, "eval/customers/profiles.csv").await;
    assert_eq!(again.imported, 0);
    assert_eq!(app.store.count_events().await.unwrap(), 2972);
    app.stop().await;
}
on_both!(
    shared_csv_files_import_exactly,
    shared_csv_files_import_exactly
);
