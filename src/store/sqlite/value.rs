//! Customer value, model versions, spend and the economics extract on SQLite.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::domain::{CustomerId, Timestamp};
use crate::pipeline::economics::EconomicsData;
use crate::pipeline::queue::NewJob;
use crate::pipeline::value::{ModelParams, Purchase, Scores, ValueSummary};
use crate::pipeline::views::{CustomerValueRecord, NewClvModel, SpendRow};

use super::rows::{ts_at, uuid_at};

pub fn purchases(
    conn: &Connection,
    customer: Option<CustomerId>,
    currency: &str,
) -> anyhow::Result<Vec<Purchase>> {
    let mut stmt = conn.prepare_cached(
        "SELECT customer_id, occurred_at, amount_minor FROM events
         WHERE kind = 'order' AND currency = ?2 AND (?1 IS NULL OR customer_id = ?1)
         ORDER BY occurred_at",
    )?;
    let mut rows = stmt.query(params![customer.map(|c| c.to_string()), currency])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(Purchase {
            customer: CustomerId::from_uuid(uuid_at(r, 0)?),
            at_us: r.get(1)?,
            amount_minor: r.get(2)?,
        });
    }
    Ok(out)
}

pub fn save_values(conn: &Connection, values: &[CustomerValueRecord]) -> anyhow::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO customer_value (customer_id, purchases, frequency, recency, t, monetary_value, currency,
            first_purchase_at, last_purchase_at, rhythm_days, spend_trend, model_version, p_alive,
            expected_purchases, expected_spend, clv, scored_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT (customer_id) DO UPDATE SET purchases = excluded.purchases, frequency = excluded.frequency,
            recency = excluded.recency, t = excluded.t, monetary_value = excluded.monetary_value,
            currency = excluded.currency, first_purchase_at = excluded.first_purchase_at,
            last_purchase_at = excluded.last_purchase_at, rhythm_days = excluded.rhythm_days,
            spend_trend = excluded.spend_trend, model_version = excluded.model_version,
            p_alive = excluded.p_alive, expected_purchases = excluded.expected_purchases,
            expected_spend = excluded.expected_spend, clv = excluded.clv, scored_at = excluded.scored_at",
    )?;
    for v in values {
        let s = &v.summary;
        stmt.execute(params![
            v.customer_id.to_string(),
            s.purchases,
            s.frequency,
            s.recency,
            s.t,
            s.monetary_value,
            v.currency,
            s.first_purchase_at.unix_micros(),
            s.last_purchase_at.unix_micros(),
            s.rhythm_days,
            s.spend_trend,
            v.model_version,
            v.scores.map(|x| x.p_alive),
            v.scores.map(|x| x.expected_purchases),
            v.scores.and_then(|x| x.expected_spend),
            v.scores.and_then(|x| x.clv),
            v.scored_at.unix_micros()
        ])?;
    }
    Ok(())
}

fn value_from_row(r: &Row<'_>) -> anyhow::Result<CustomerValueRecord> {
    let p_alive: Option<f64> = r.get(12)?;
    let scores = match (p_alive, r.get::<_, Option<f64>>(13)?) {
        (Some(p_alive), Some(expected_purchases)) => Some(Scores {
            p_alive,
            expected_purchases,
            expected_spend: r.get(14)?,
            clv: r.get(15)?,
        }),
        _ => None,
    };
    Ok(CustomerValueRecord {
        customer_id: CustomerId::from_uuid(uuid_at(r, 0)?),
        summary: ValueSummary {
            purchases: r.get(1)?,
            frequency: r.get(2)?,
            recency: r.get(3)?,
            t: r.get(4)?,
            monetary_value: r.get(5)?,
            first_purchase_at: ts_at(r, 7)?,
            last_purchase_at: ts_at(r, 8)?,
            rhythm_days: r.get(9)?,
            spend_trend: r.get(10)?,
        },
        currency: r.get(6)?,
        model_version: r.get(11)?,
        scores,
        scored_at: ts_at(r, 16)?,
    })
}

pub fn value(conn: &Connection, id: CustomerId) -> anyhow::Result<Option<CustomerValueRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT customer_id, purchases, frequency, recency, t, monetary_value, currency, first_purchase_at,
            last_purchase_at, rhythm_days, spend_trend, model_version, p_alive, expected_purchases,
            expected_spend, clv, scored_at
         FROM customer_value WHERE customer_id = ?1",
    )?;
    let mut rows = stmt.query([id.to_string()])?;
    rows.next()?.map(value_from_row).transpose()
}

pub fn save_model(conn: &Connection, m: &NewClvModel, now: i64) -> anyhow::Result<i64> {
    conn.execute("UPDATE clv_models SET active = 0 WHERE active = 1", [])?;
    conn.execute(
        "INSERT INTO clv_models (fitted_at, purchase_model, purchase_params, spend_params, diagnostics, n_customers, period, active)
         VALUES (?1, 'bgnbd', ?2, ?3, ?4, ?5, ?6, 1)",
        params![
            now,
            serde_json::to_string(&m.params.bgnbd)?,
            m.params.gamma_gamma.map(|g| serde_json::to_string(&g)).transpose()?,
            m.diagnostics.to_string(),
            m.customers as i64,
            m.period
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn active_model(conn: &Connection) -> anyhow::Result<Option<(i64, ModelParams, Timestamp)>> {
    let row: Option<(i64, String, Option<String>, i64)> = conn
        .query_row(
            "SELECT version, purchase_params, spend_params, fitted_at FROM clv_models WHERE active = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    row.map(|(v, p, s, at)| {
        Ok((
            v,
            ModelParams {
                bgnbd: serde_json::from_str(&p)?,
                gamma_gamma: s.map(|s| serde_json::from_str(&s)).transpose()?,
            },
            Timestamp::from_unix_micros(at),
        ))
    })
    .transpose()
}

pub fn enqueue_unique(
    conn: &Connection,
    job: &NewJob,
    key: &str,
    now: i64,
) -> anyhow::Result<bool> {
    let n = conn.execute(
        "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_after, created_at, updated_at, dedup_key)
         VALUES (?1, ?2, ?3, 'queued', 0, ?4, ?5, ?6, ?6, ?7)
         ON CONFLICT DO NOTHING",
        params![job.id.to_string(), job.kind.as_str(), job.payload.to_string(), job.max_attempts, job.run_after.unix_micros(), now, key],
    )?;
    Ok(n == 1)
}

pub fn economics(
    conn: &Connection,
    to: Timestamp,
    currency: &str,
) -> anyhow::Result<EconomicsData> {
    let to = to.unix_micros();
    let mut d = EconomicsData::default();
    let mut stmt = conn.prepare_cached(
        "SELECT customer_id, occurred_at, kind, amount_minor, currency, channel,
            coalesce(json_extract(properties, '$.acquisition_channel'), json_extract(properties, '$.utm_source')),
            json_extract(properties, '$.referred_by') IS NOT NULL
         FROM events WHERE occurred_at < ?1 AND kind IN
            ('signup', 'order', 'referral', 'subscription_started', 'subscription_resumed', 'subscription_paused', 'subscription_cancelled')",
    )?;
    let mut rows = stmt.query([to])?;
    while let Some(r) = rows.next()? {
        let customer = CustomerId::from_uuid(uuid_at(r, 0)?);
        let at: i64 = r.get(1)?;
        let kind: String = r.get(2)?;
        match kind.as_str() {
            "signup" => {
                let channel: String = r.get::<_, Option<String>>(6)?.unwrap_or(r.get(5)?);
                d.signups.push((customer, at, channel, r.get(7)?));
            }
            "order" => {
                if r.get::<_, Option<String>>(4)?.as_deref() == Some(currency) {
                    d.orders
                        .push((customer, at, r.get::<_, Option<i64>>(3)?.unwrap_or(0)));
                }
            }
            "referral" => d.referrals.push(at),
            _ => d.subscription_events.push((customer, at, kind)),
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT channel, period_start, period_end, amount_minor FROM marketing_spend WHERE currency = ?1 AND period_start < ?2",
    )?;
    let rows = stmt.query_map(params![currency, to], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    for row in rows {
        d.spend.push(row?);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT customer_id, clv FROM customer_value WHERE clv IS NOT NULL AND currency = ?1",
    )?;
    let mut rows = stmt.query([currency])?;
    while let Some(r) = rows.next()? {
        d.clv
            .push((CustomerId::from_uuid(uuid_at(r, 0)?), r.get(1)?));
    }
    Ok(d)
}

pub fn upsert_spend(conn: &Connection, rows: &[SpendRow], now: i64) -> anyhow::Result<u64> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO marketing_spend (id, channel, period_start, period_end, amount_minor, currency, source, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (channel, period_start, period_end) DO UPDATE SET amount_minor = excluded.amount_minor,
            currency = excluded.currency, source = excluded.source, created_at = excluded.created_at",
    )?;
    let mut n = 0;
    for s in rows {
        n += stmt.execute(params![
            uuid::Uuid::now_v7().to_string(),
            s.channel,
            s.start.unix_micros(),
            s.end.unix_micros(),
            s.amount.minor,
            s.amount.currency.to_string(),
            s.source,
            now
        ])? as u64;
    }
    Ok(n)
}
