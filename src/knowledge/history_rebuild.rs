//! Creating the history collection, and rebuilding it when the embedder
//! changed (the model appeared, went missing or was replaced). Unlike the
//! knowledge base, history cannot be re-ingested from files, so a rebuild
//! copies every item from its own payload (which holds everything an item
//! is) through a staging collection, re-embedding with the current
//! embedder:
//!
//! 1. the collection has the old spec: drop any half-made staging, copy
//!    everything into a fresh staging, then drop and recreate the
//!    collection;
//! 2. a staging collection exists: copy it into the collection, drop it.
//!
//! The collection is dropped only once the staging copy is complete, and a
//! crash anywhere resumes at the right step on the next start (a collection
//! with the old spec means the staging may be partial; a missing or new
//! one means it is complete), so no item is lost for good.

use std::collections::HashMap;

use anyhow::Context;
use serde_json::Value;
use uuid::Uuid;

use super::history::{History, HistoryItem, Source};
use crate::domain::{CustomerId, Timestamp};
use crate::pipeline::ports::{Filter, VectorError};

pub(super) async fn ensure(h: &History) -> anyhow::Result<()> {
    let index = h.index_port();
    let main = h.collection().to_owned();
    let staging = format!("{main}_rebuild");
    match index.ensure_collection(&main, h.spec()).await {
        Ok(()) => {}
        Err(VectorError::Mismatch { reason, .. }) => {
            tracing::warn!(collection = %main, %reason, "rebuilding the history index for the current embedder");
            index.drop_collection(&staging).await?;
            index.ensure_collection(&staging, h.spec()).await?;
            copy(h, &main, &staging).await?;
            index.drop_collection(&main).await?;
            index.ensure_collection(&main, h.spec()).await?;
        }
        Err(e) => return Err(e.into()),
    }
    match index.count(&staging).await {
        Err(VectorError::NoCollection(_)) => Ok(()),
        Err(e) => Err(e.into()),
        Ok(_) => {
            copy(h, &staging, &main).await?;
            index.drop_collection(&staging).await?;
            Ok(())
        }
    }
}

/// Reads one payload key of every point.
async fn column(h: &History, collection: &str, key: &str) -> anyhow::Result<HashMap<Uuid, Value>> {
    Ok(h.index_port()
        .list(collection, Filter::all(), key)
        .await?
        .into_iter()
        .filter_map(|(id, v)| Some((id, v?)))
        .collect())
}

async fn copy(h: &History, from: &str, to: &str) -> anyhow::Result<()> {
    let customers = column(h, from, "customer_id").await?;
    let sources = column(h, from, "source").await?;
    let kinds = column(h, from, "kind").await?;
    let ats = column(h, from, "at_us").await?;
    let texts = column(h, from, "text").await?;
    let mut items = Vec::new();
    for (id, c) in customers {
        let item = (|| {
            Some(HistoryItem {
                id,
                customer: c.as_str()?.parse::<CustomerId>().ok()?,
                source: Source::parse(sources.get(&id)?.as_str()?)?,
                kind: kinds.get(&id)?.as_str()?.to_owned(),
                at: Timestamp::from_unix_micros(ats.get(&id)?.as_i64()?),
                text: texts.get(&id)?.as_str()?.to_owned(),
            })
        })();
        match item {
            Some(i) => items.push(i),
            None => tracing::warn!(point = %id, "history point with an incomplete payload skipped"),
        }
    }
    for batch in items.chunks(32) {
        let points = h.points(batch).await?;
        h.index_port()
            .upsert(to, points)
            .await
            .with_context(|| format!("copying history into {to}"))?;
    }
    Ok(())
}
