//! Matching inputs to customers inside the write transaction.

use anyhow::Context;
use sqlx::{PgConnection, Row};

use crate::domain::{
    ConflictReason, CustomerId, IdKind, Identity, IdentityConflict, KnownIdentifier, Match,
    ResolutionPlan, plan_resolution,
};

/// Every identifier of every customer owning one of `identity`'s
/// identifiers: owners in the order of the identifiers that found them,
/// each owner's identifiers by kind, then in insertion order (one query).
pub async fn known_identifiers(
    conn: &mut PgConnection,
    identity: &Identity,
) -> anyhow::Result<Vec<KnownIdentifier>> {
    let wanted = identity.identifiers();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let kinds: Vec<&str> = wanted.iter().map(|(k, _)| k.as_str()).collect();
    let values: Vec<&str> = wanted.iter().map(|(_, v)| v.as_str()).collect();
    let rows = sqlx::query(
        "SELECT ci.kind, ci.value, ci.customer_id
         FROM (SELECT DISTINCT ON (c.customer_id) c.customer_id, w.ord
               FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS w(kind, value, ord)
               JOIN customer_identifiers c ON c.kind = w.kind AND c.value = w.value
               ORDER BY c.customer_id, w.ord) o
         JOIN customer_identifiers ci ON ci.customer_id = o.customer_id
         ORDER BY o.ord, ci.kind, ci.seq",
    )
    .bind(&kinds)
    .bind(&values)
    .fetch_all(&mut *conn)
    .await
    .context("looking up known identifiers")?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get(0)?;
            Ok(KnownIdentifier {
                kind: IdKind::parse(&kind).map_err(|e| anyhow::anyhow!("{e}"))?,
                value: r.try_get(1)?,
                customer: CustomerId::from_uuid(r.try_get(2)?),
            })
        })
        .collect()
}

pub async fn plan(conn: &mut PgConnection, identity: &Identity) -> anyhow::Result<ResolutionPlan> {
    let known = known_identifiers(conn, identity).await?;
    Ok(plan_resolution(identity, &known))
}

/// Carries out a plan: creates the customer if new, attaches identifiers.
/// One statement either way. Two transactions attaching the same new
/// identifier collide on its primary key; the loser is retried and then
/// finds the winner's customer.
pub async fn apply(
    conn: &mut PgConnection,
    plan: &ResolutionPlan,
    name: Option<&str>,
    now: i64,
) -> anyhow::Result<CustomerId> {
    let kinds: Vec<&str> = plan.attach.iter().map(|(k, _)| k.as_str()).collect();
    let values: Vec<&str> = plan.attach.iter().map(|(_, v)| v.as_str()).collect();
    let customer = match plan.customer {
        Match::Existing(c) => {
            if !plan.attach.is_empty() {
                sqlx::query(ATTACH)
                    .bind(c.as_uuid())
                    .bind(now)
                    .bind(&kinds)
                    .bind(&values)
                    .execute(&mut *conn)
                    .await
                    .context("attaching identifiers")?;
            }
            c
        }
        Match::New => {
            let c = CustomerId::new();
            sqlx::query(
                "WITH c AS (INSERT INTO customers (id, name, created_at, updated_at) VALUES ($1, $5, $2, $2)),
                      s AS (INSERT INTO customer_stats (customer_id, updated_at) VALUES ($1, $2))
                 INSERT INTO customer_identifiers (kind, value, customer_id, created_at)
                 SELECT w.kind, w.value, $1, $2
                 FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS w(kind, value, ord)
                 ORDER BY w.ord",
            )
            .bind(c.as_uuid())
            .bind(now)
            .bind(&kinds)
            .bind(&values)
            .bind(name)
            .execute(&mut *conn)
            .await
            .context("creating a customer")?;
            c
        }
    };
    Ok(customer)
}

const ATTACH: &str = "INSERT INTO customer_identifiers (kind, value, customer_id, created_at)
     SELECT w.kind, w.value, $1, $2
     FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS w(kind, value, ord)
     ORDER BY w.ord";

/// Records conflicts for an operator; returns a warning per newly recorded conflict.
pub async fn record_conflicts(
    conn: &mut PgConnection,
    customer: Option<CustomerId>,
    conflicts: &[IdentityConflict],
    source: &str,
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let mut warnings = Vec::with_capacity(conflicts.len());
    let customer = customer.map(|c| c.as_uuid());
    for c in conflicts {
        // The same open conflict is recorded once, however often the input
        // that causes it arrives again.
        let seen = sqlx::query(
            "SELECT 1 FROM identity_conflicts
             WHERE customer_id IS NOT DISTINCT FROM $1 AND kind = $2 AND value = $3 AND resolved_at IS NULL",
        )
        .bind(customer)
        .bind(c.kind.as_str())
        .bind(&c.value)
        .fetch_optional(&mut *conn)
        .await?;
        if seen.is_some() {
            continue;
        }
        let (other, existing) = match &c.reason {
            ConflictReason::OwnedByOther(o) => (Some(o.as_uuid()), None),
            ConflictReason::CustomerHasOther(v) => (None, Some(v.as_str())),
        };
        let id = uuid::Uuid::now_v7();
        sqlx::query(
            "INSERT INTO identity_conflicts (id, customer_id, other_customer_id, kind, value, existing_value, source, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(customer)
        .bind(other)
        .bind(c.kind.as_str())
        .bind(&c.value)
        .bind(existing)
        .bind(source)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        warnings.push(format!("{c}; recorded as conflict {id}"));
    }
    Ok(warnings)
}
