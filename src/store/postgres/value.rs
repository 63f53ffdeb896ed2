//! Customer value, model versions, spend and the economics extract on
//! PostgreSQL.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::domain::{CustomerId, Timestamp};
use crate::pipeline::economics::EconomicsData;
use crate::pipeline::queue::NewJob;
use crate::pipeline::value::{ModelParams, Purchase, Scores, ValueSummary};
use crate::pipeline::views::{CustomerValueRecord, NewClvModel, SpendRow};

use super::rows::{ts_at, u32_at};

pub async fn purchases(
    conn: &mut PgConnection,
    customer: Option<CustomerId>,
    currency: &str,
) -> anyhow::Result<Vec<Purchase>> {
    let rows: Vec<(uuid::Uuid, i64, Option<i64>)> = sqlx::query_as(
        "SELECT customer_id, occurred_at, amount_minor FROM events
         WHERE kind = 'order' AND currency = $2 AND ($1::uuid IS NULL OR customer_id = $1)
         ORDER BY occurred_at",
    )
    .bind(customer.map(|c| c.as_uuid()))
    .bind(currency)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(c, at, amount)| {
            Ok(Purchase {
                customer: CustomerId::from_uuid(c),
                at_us: at,
                amount_minor: amount
                    .ok_or_else(|| anyhow::anyhow!("an order event without an amount"))?,
            })
        })
        .collect()
}

pub async fn save_values(
    conn: &mut PgConnection,
    values: &[CustomerValueRecord],
) -> anyhow::Result<()> {
    for v in values {
        let s = &v.summary;
        sqlx::query(
            "INSERT INTO customer_value (customer_id, purchases, frequency, recency, t, monetary_value, currency,
                first_purchase_at, last_purchase_at, rhythm_days, spend_trend, model_version, p_alive,
                expected_purchases, expected_spend, clv, scored_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT (customer_id) DO UPDATE SET purchases = excluded.purchases, frequency = excluded.frequency,
                recency = excluded.recency, t = excluded.t, monetary_value = excluded.monetary_value,
                currency = excluded.currency, first_purchase_at = excluded.first_purchase_at,
                last_purchase_at = excluded.last_purchase_at, rhythm_days = excluded.rhythm_days,
                spend_trend = excluded.spend_trend, model_version = excluded.model_version,
                p_alive = excluded.p_alive, expected_purchases = excluded.expected_purchases,
                expected_spend = excluded.expected_spend, clv = excluded.clv, scored_at = excluded.scored_at",
        )
        .bind(v.customer_id.as_uuid())
        .bind(i64::from(s.purchases))
        .bind(s.frequency)
        .bind(s.recency)
        .bind(s.t)
        .bind(s.monetary_value)
        .bind(&v.currency)
        .bind(s.first_purchase_at.unix_micros())
        .bind(s.last_purchase_at.unix_micros())
        .bind(s.rhythm_days)
        .bind(s.spend_trend)
        .bind(v.model_version)
        .bind(v.scores.map(|x| x.p_alive))
        .bind(v.scores.map(|x| x.expected_purchases))
        .bind(v.scores.and_then(|x| x.expected_spend))
        .bind(v.scores.and_then(|x| x.clv))
        .bind(v.scored_at.unix_micros())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn value_from_row(r: &PgRow) -> anyhow::Result<CustomerValueRecord> {
    let p_alive: Option<f64> = r.try_get(12)?;
    let scores = match (p_alive, r.try_get::<Option<f64>, _>(13)?) {
        (Some(p_alive), Some(expected_purchases)) => Some(Scores {
            p_alive,
            expected_purchases,
            expected_spend: r.try_get(14)?,
            clv: r.try_get(15)?,
        }),
        _ => None,
    };
    Ok(CustomerValueRecord {
        customer_id: CustomerId::from_uuid(r.try_get(0)?),
        summary: ValueSummary {
            purchases: u32_at(r, 1)?,
            frequency: r.try_get(2)?,
            recency: r.try_get(3)?,
            t: r.try_get(4)?,
            monetary_value: r.try_get(5)?,
            first_purchase_at: ts_at(r, 7)?,
            last_purchase_at: ts_at(r, 8)?,
            rhythm_days: r.try_get(9)?,
            spend_trend: r.try_get(10)?,
        },
        currency: r.try_get(6)?,
        model_version: r.try_get(11)?,
        scores,
        scored_at: ts_at(r, 16)?,
    })
}

pub async fn value(
    conn: &mut PgConnection,
    id: CustomerId,
) -> anyhow::Result<Option<CustomerValueRecord>> {
    let row = sqlx::query(
        "SELECT customer_id, purchases, frequency, recency, t, monetary_value, currency, first_purchase_at,
            last_purchase_at, rhythm_days, spend_trend, model_version, p_alive, expected_purchases,
            expected_spend, clv, scored_at
         FROM customer_value WHERE customer_id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(value_from_row).transpose()
}

pub async fn save_model(conn: &mut PgConnection, m: &NewClvModel, now: i64) -> anyhow::Result<i64> {
    sqlx::query("UPDATE clv_models SET active = false WHERE active")
        .execute(&mut *conn)
        .await?;
    let version: i64 = sqlx::query_scalar(
        "INSERT INTO clv_models (fitted_at, purchase_model, purchase_params, spend_params, diagnostics, n_customers, period, active)
         VALUES ($1, 'bgnbd', $2::jsonb, $3::jsonb, $4::jsonb, $5, $6, true)
         RETURNING version",
    )
    .bind(now)
    .bind(serde_json::to_string(&m.params.bgnbd)?)
    .bind(
        m.params
            .gamma_gamma
            .map(|g| serde_json::to_string(&g))
            .transpose()?,
    )
    .bind(m.diagnostics.to_string())
    .bind(i64::try_from(m.customers)?)
    .bind(m.period)
    .fetch_one(&mut *conn)
    .await?;
    Ok(version)
}

pub async fn active_model(
    conn: &mut PgConnection,
) -> anyhow::Result<Option<(i64, ModelParams, Timestamp)>> {
    let row: Option<(i64, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT version, purchase_params::text, spend_params::text, fitted_at FROM clv_models WHERE active",
    )
    .fetch_optional(&mut *conn)
    .await?;
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

pub async fn enqueue_unique(
    conn: &mut PgConnection,
    job: &NewJob,
    key: &str,
    now: i64,
) -> anyhow::Result<bool> {
    let n = sqlx::query(
        "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_after, created_at, updated_at, dedup_key)
         VALUES ($1, $2, $3::jsonb, 'queued', 0, $4, $5, $6, $6, $7)
         ON CONFLICT DO NOTHING",
    )
    .bind(job.id.as_uuid())
    .bind(job.kind.as_str())
    .bind(job.payload.to_string())
    .bind(i64::from(job.max_attempts))
    .bind(job.run_after.unix_micros())
    .bind(now)
    .bind(key)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn economics(
    conn: &mut PgConnection,
    to: Timestamp,
    currency: &str,
) -> anyhow::Result<EconomicsData> {
    let to = to.unix_micros();
    let mut d = EconomicsData::default();
    let rows = sqlx::query(
        "SELECT customer_id, occurred_at, kind, amount_minor, currency, channel,
            coalesce(properties->>'acquisition_channel', properties->>'utm_source'),
            (properties->>'referred_by') IS NOT NULL
         FROM events WHERE occurred_at < $1 AND kind IN
            ('signup', 'order', 'referral', 'subscription_started', 'subscription_resumed', 'subscription_paused', 'subscription_cancelled')",
    )
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        let customer = CustomerId::from_uuid(r.try_get(0)?);
        let at: i64 = r.try_get(1)?;
        let kind: String = r.try_get(2)?;
        match kind.as_str() {
            "signup" => {
                let channel: String = match r.try_get::<Option<String>, _>(6)? {
                    Some(c) => c,
                    None => r.try_get(5)?,
                };
                d.signups.push((customer, at, channel, r.try_get(7)?));
            }
            "order" => {
                if r.try_get::<Option<String>, _>(4)?.as_deref() == Some(currency) {
                    d.orders
                        .push((customer, at, r.try_get::<Option<i64>, _>(3)?.unwrap_or(0)));
                }
            }
            "referral" => d.referrals.push(at),
            _ => d.subscription_events.push((customer, at, kind)),
        }
    }
    let spend: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT channel, period_start, period_end, amount_minor FROM marketing_spend WHERE currency = $1 AND period_start < $2",
    )
    .bind(currency)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    d.spend = spend;
    let clv: Vec<(uuid::Uuid, f64)> = sqlx::query_as(
        "SELECT customer_id, clv FROM customer_value WHERE clv IS NOT NULL AND currency = $1",
    )
    .bind(currency)
    .fetch_all(&mut *conn)
    .await?;
    d.clv = clv
        .into_iter()
        .map(|(c, v)| (CustomerId::from_uuid(c), v))
        .collect();
    Ok(d)
}

pub async fn upsert_spend(
    conn: &mut PgConnection,
    rows: &[SpendRow],
    now: i64,
) -> anyhow::Result<u64> {
    let mut n = 0;
    for s in rows {
        n += sqlx::query(
            "INSERT INTO marketing_spend (id, channel, period_start, period_end, amount_minor, currency, source, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (channel, period_start, period_end) DO UPDATE SET amount_minor = excluded.amount_minor,
                currency = excluded.currency, source = excluded.source, created_at = excluded.created_at",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(&s.channel)
        .bind(s.start.unix_micros())
        .bind(s.end.unix_micros())
        .bind(s.amount.minor)
        .bind(s.amount.currency.to_string())
        .bind(&s.source)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(n)
}
