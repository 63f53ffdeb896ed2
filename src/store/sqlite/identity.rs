//! Matching inputs to customers inside the write transaction.

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::{
    ConflictReason, CustomerId, IdKind, Identity, IdentityConflict, KnownIdentifier, Match,
    ResolutionPlan, plan_resolution,
};

/// Every identifier of every customer owning one of `identity`'s identifiers.
pub fn known_identifiers(
    conn: &Connection,
    identity: &Identity,
) -> anyhow::Result<Vec<KnownIdentifier>> {
    let mut owners: Vec<String> = Vec::new();
    let mut find = conn.prepare_cached(
        "SELECT customer_id FROM customer_identifiers WHERE kind = ?1 AND value = ?2",
    )?;
    for (kind, value) in identity.identifiers() {
        if let Some(c) = find
            .query_row(params![kind.as_str(), value], |r| r.get::<_, String>(0))
            .optional()?
            && !owners.contains(&c)
        {
            owners.push(c);
        }
    }
    let mut all =
        conn.prepare_cached("SELECT kind, value FROM customer_identifiers WHERE customer_id = ?1")?;
    let mut known = Vec::new();
    for owner in owners {
        let customer: CustomerId = owner.parse().context("stored customer id")?;
        let rows = all.query_map([&owner], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (kind, value) = row?;
            known.push(KnownIdentifier {
                kind: IdKind::parse(&kind).map_err(|e| anyhow::anyhow!("{e}"))?,
                value,
                customer,
            });
        }
    }
    Ok(known)
}

pub fn plan(conn: &Connection, identity: &Identity) -> anyhow::Result<ResolutionPlan> {
    Ok(plan_resolution(
        identity,
        &known_identifiers(conn, identity)?,
    ))
}

/// Carries out a plan: creates the customer if new, attaches identifiers.
pub fn apply(
    conn: &Connection,
    plan: &ResolutionPlan,
    name: Option<&str>,
    now: i64,
) -> anyhow::Result<CustomerId> {
    let customer = match plan.customer {
        Match::Existing(c) => c,
        Match::New => {
            let c = CustomerId::new();
            conn.prepare_cached(
                "INSERT INTO customers (id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
            )?
            .execute(params![c.to_string(), name, now])?;
            conn.prepare_cached(
                "INSERT INTO customer_stats (customer_id, updated_at) VALUES (?1, ?2)",
            )?
            .execute(params![c.to_string(), now])?;
            c
        }
    };
    let mut ins = conn.prepare_cached(
        "INSERT INTO customer_identifiers (kind, value, customer_id, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (kind, value) in &plan.attach {
        ins.execute(params![kind.as_str(), value, customer.to_string(), now])?;
    }
    Ok(customer)
}

/// Records conflicts for an operator; returns a warning per newly recorded conflict.
pub fn record_conflicts(
    conn: &Connection,
    customer: Option<CustomerId>,
    conflicts: &[IdentityConflict],
    source: &str,
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let mut ins = conn.prepare_cached(
        "INSERT INTO identity_conflicts (id, customer_id, other_customer_id, kind, value, existing_value, source, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut seen = conn.prepare_cached(
        "SELECT 1 FROM identity_conflicts
         WHERE customer_id IS ?1 AND kind = ?2 AND value = ?3 AND resolved_at IS NULL",
    )?;
    let mut warnings = Vec::with_capacity(conflicts.len());
    for c in conflicts {
        // The same open conflict is recorded once, however often the input
        // that causes it arrives again.
        if seen.exists(params![
            customer.map(|c| c.to_string()),
            c.kind.as_str(),
            c.value
        ])? {
            continue;
        }
        let (other, existing) = match &c.reason {
            ConflictReason::OwnedByOther(o) => (Some(o.to_string()), None),
            ConflictReason::CustomerHasOther(v) => (None, Some(v.as_str())),
        };
        let id = uuid::Uuid::now_v7();
        ins.execute(params![
            id.to_string(),
            customer.map(|c| c.to_string()),
            other,
            c.kind.as_str(),
            c.value,
            existing,
            source,
            now
        ])?;
        warnings.push(format!("{c}; recorded as conflict {id}"));
    }
    Ok(warnings)
}
