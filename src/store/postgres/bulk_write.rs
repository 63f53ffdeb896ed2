//! The writes of the bulk ingest path: two set-based statements, rows in
//! key order so that concurrent writers lock them in the same order.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use sqlx::PgConnection;

use crate::domain::CustomerId;

/// Rows to write, as parallel arrays for `unnest`.
#[derive(Default)]
pub struct Writes {
    pub new_customers: Vec<uuid::Uuid>,
    /// Per customer: events added now and the latest of their times.
    pub stats: HashMap<CustomerId, (i64, i64)>,
    pub id_kinds: Vec<&'static str>,
    pub id_values: Vec<String>,
    pub id_customers: Vec<uuid::Uuid>,
    pub c_ids: Vec<uuid::Uuid>,
    pub c_customers: Vec<Option<uuid::Uuid>>,
    pub c_others: Vec<Option<uuid::Uuid>>,
    pub c_kinds: Vec<&'static str>,
    pub c_values: Vec<String>,
    pub c_existing: Vec<Option<String>>,
    pub c_sources: Vec<String>,
    pub e_ids: Vec<uuid::Uuid>,
    pub e_sources: Vec<Option<String>>,
    pub e_customers: Vec<uuid::Uuid>,
    pub e_kinds: Vec<String>,
    pub e_at: Vec<i64>,
    pub e_offsets: Vec<i32>,
    pub e_amounts: Vec<Option<i64>>,
    pub e_currencies: Vec<Option<String>>,
    pub e_channels: Vec<&'static str>,
    pub e_properties: Vec<String>,
    pub e_digests: Vec<String>,
    pub j_ids: Vec<uuid::Uuid>,
    pub j_kinds: Vec<&'static str>,
    pub j_payloads: Vec<String>,
    pub j_max: Vec<i64>,
    pub j_run_after: Vec<i64>,
    pub k_scopes: Vec<&'static str>,
    pub k_keys: Vec<String>,
    pub k_digests: Vec<String>,
    pub k_outcomes: Vec<String>,
}

pub async fn write(conn: &mut PgConnection, w: &Writes, now: i64) -> anyhow::Result<()> {
    // New customers come with their counters; existing ones are bumped.
    let new: HashSet<uuid::Uuid> = w.new_customers.iter().copied().collect();
    let mut fresh: Vec<(uuid::Uuid, i64, i64)> = Vec::new();
    let mut bumped: Vec<(uuid::Uuid, i64, i64)> = Vec::new();
    for (c, (n, at)) in &w.stats {
        let row = (c.as_uuid(), *n, *at);
        if new.contains(&row.0) {
            fresh.push(row);
        } else {
            bumped.push(row);
        }
    }
    // A fixed order of row locks, so two batches bumping the same
    // customers cannot deadlock.
    bumped.sort_unstable();
    let unzip3 = |v: &[(uuid::Uuid, i64, i64)]| -> (Vec<uuid::Uuid>, Vec<i64>, Vec<i64>) {
        (
            v.iter().map(|r| r.0).collect(),
            v.iter().map(|r| r.1).collect(),
            v.iter().map(|r| r.2).collect(),
        )
    };
    let (f_ids, f_n, f_at) = unzip3(&fresh);
    // Identifiers in key order too (each customer gains at most one value
    // per kind in a batch, so this order decides nothing else).
    let mut idents: Vec<(&'static str, &str, uuid::Uuid)> = (0..w.id_kinds.len())
        .map(|i| (w.id_kinds[i], w.id_values[i].as_str(), w.id_customers[i]))
        .collect();
    idents.sort_unstable();
    let id_kinds: Vec<&str> = idents.iter().map(|r| r.0).collect();
    let id_values: Vec<&str> = idents.iter().map(|r| r.1).collect();
    let id_customers: Vec<uuid::Uuid> = idents.iter().map(|r| r.2).collect();
    let (b_ids, b_n, b_at) = unzip3(&bumped);
    // One statement: foreign keys are checked at its end, so events and
    // identifiers may name customers created by its own first CTE.
    sqlx::query(
        "WITH c AS (
            INSERT INTO customers (id, name, created_at, updated_at)
            SELECT u.id, NULL, $1, $1 FROM unnest($32::uuid[]) AS u(id)),
         s AS (
            INSERT INTO customer_stats (customer_id, events, last_event_at, updated_at)
            SELECT u.id, u.n, u.at, $1 FROM unnest($33::uuid[], $34::int8[], $35::int8[]) AS u(id, n, at)),
         ci AS (
            INSERT INTO customer_identifiers (kind, value, customer_id, created_at)
            SELECT u.kind, u.value, u.customer_id, $1
            FROM unnest($36::text[], $37::text[], $38::uuid[]) WITH ORDINALITY AS u(kind, value, customer_id, ord)
            ORDER BY u.ord),
         cf AS (
            INSERT INTO identity_conflicts (id, customer_id, other_customer_id, kind, value, existing_value, source, created_at)
            SELECT u.id, u.customer_id, u.other, u.kind, u.value, u.existing, u.source, $1
            FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[])
                 AS u(id, customer_id, other, kind, value, existing, source)),
         ev AS (
            INSERT INTO events (id, source_id, customer_id, kind, occurred_at, occurred_offset, amount_minor, currency, channel, properties, digest, received_at)
            SELECT u.id, u.source_id, u.customer_id, u.kind, u.at, u.off, u.amount, u.currency, u.channel, u.props::jsonb, u.digest, $1
            FROM unnest($9::uuid[], $10::text[], $11::uuid[], $12::text[], $13::int8[], $14::int4[], $15::int8[], $16::text[], $17::text[], $18::text[], $19::text[])
                 AS u(id, source_id, customer_id, kind, at, off, amount, currency, channel, props, digest)
            ORDER BY u.source_id),
         st AS (
            UPDATE customer_stats SET events = customer_stats.events + u.n,
                last_event_at = greatest(coalesce(customer_stats.last_event_at, u.at), u.at), updated_at = $1
            FROM unnest($20::uuid[], $21::int8[], $22::int8[]) AS u(id, n, at)
            WHERE customer_stats.customer_id = u.id),
         ik AS (
            INSERT INTO idempotency_keys (scope, key, request_digest, outcomes, created_at)
            SELECT u.scope, u.key, u.digest, u.outcomes, $1
            FROM unnest($23::text[], $24::text[], $25::text[], $26::text[]) AS u(scope, key, digest, outcomes)
            ORDER BY u.scope, u.key)
         INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_after, created_at, updated_at)
         SELECT j.id, j.kind, j.payload::jsonb, 'queued', 0, j.max_attempts, j.run_after, $1, $1
         FROM unnest($27::uuid[], $28::text[], $29::text[], $30::int8[], $31::int8[])
              AS j(id, kind, payload, max_attempts, run_after)",
    )
    .bind(now)
    .bind(&w.c_ids)
    .bind(&w.c_customers)
    .bind(&w.c_others)
    .bind(&w.c_kinds)
    .bind(&w.c_values)
    .bind(&w.c_existing)
    .bind(&w.c_sources)
    .bind(&w.e_ids)
    .bind(&w.e_sources)
    .bind(&w.e_customers)
    .bind(&w.e_kinds)
    .bind(&w.e_at)
    .bind(&w.e_offsets)
    .bind(&w.e_amounts)
    .bind(&w.e_currencies)
    .bind(&w.e_channels)
    .bind(&w.e_properties)
    .bind(&w.e_digests)
    .bind(&b_ids)
    .bind(&b_n)
    .bind(&b_at)
    .bind(&w.k_scopes)
    .bind(&w.k_keys)
    .bind(&w.k_digests)
    .bind(&w.k_outcomes)
    .bind(&w.j_ids)
    .bind(&w.j_kinds)
    .bind(&w.j_payloads)
    .bind(&w.j_max)
    .bind(&w.j_run_after)
    .bind(&w.new_customers)
    .bind(&f_ids)
    .bind(&f_n)
    .bind(&f_at)
    .bind(&id_kinds)
    .bind(&id_values)
    .bind(&id_customers)
    .execute(&mut *conn)
    .await
    .context("storing a batch of events")?;
    Ok(())
}
