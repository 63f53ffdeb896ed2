//! Storage adapters: the only place that talks SQL. `open` picks the
//! backend once, from settings.

pub mod migrations;
pub mod pg_admin;
pub mod postgres;
pub mod sqlite;

use crate::domain::{Currency, EventKind, Money};

/// An event's `kind`, `amount_minor` and `currency` columns read back, the
/// same way in every store.
pub(crate) fn event_kind_and_amount(
    kind: String,
    amount: Option<i64>,
    currency: Option<String>,
) -> anyhow::Result<(EventKind, Option<Money>)> {
    let kind =
        EventKind::parse(&kind, std::slice::from_ref(&kind)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let amount = match (amount, currency) {
        (Some(minor), Some(c)) => Some(Money {
            minor,
            currency: Currency::parse(&c).map_err(|e| anyhow::anyhow!("{e}"))?,
        }),
        _ => None,
    };
    Ok((kind, amount))
}
