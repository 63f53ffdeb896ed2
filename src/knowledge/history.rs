//! Customer history memory: every stored event and message of a customer,
//! summarised in a neutral form and indexed (dense + BM25) in one
//! collection with the customer id in the payload.
//!
//! Isolation: every read goes through `recall` or `sources_of`, and both
//! add the `customer_id` filter themselves; there is no way to query the
//! collection without it. `recall` also drops any hit whose payload names
//! another customer, so a backend that ignored a filter still could not
//! leak.
//!
//! Points are keyed by the record's own id (events and messages have UUIDs
//! unique across both tables), so indexing a record again replaces its one
//! point: the `index_history` job can run any number of times. A payload
//! digest (customer, text) lets a rerun skip the embedding when nothing
//! changed, and makes a record whose customer changed (a merge) re-upsert.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::bm25::{self, Bm25Params};
use super::fusion::{self, Fusion};
use crate::domain::{CustomerId, Timestamp};
use crate::pipeline::ports::{
    CollectionSpec, EmbedRole, Embedder, Filter, Hit, Point, VectorError, VectorIndex,
};
use crate::pipeline::views::{StoredEvent, StoredMessage};

/// Where a history item comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Event,
    Message,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Event => "event",
            Source::Message => "message",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "event" => Some(Source::Event),
            "message" => Some(Source::Message),
            _ => None,
        }
    }
}

/// One event or message of one customer, as indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryItem {
    /// The record's id; also the point id.
    pub id: Uuid,
    pub customer: CustomerId,
    pub source: Source,
    /// The event kind, or `message_in` / `message_out`.
    pub kind: String,
    pub at: Timestamp,
    /// The neutral summary that is embedded and shown to the drafter.
    pub text: String,
}

fn day(at: &Timestamp) -> String {
    at.datetime().format("%Y-%m-%d").to_string()
}

impl HistoryItem {
    /// "2026-10-01 order 1290.00 RUB (web)".
    pub fn from_event(e: &StoredEvent) -> Self {
        let mut text = format!("{} {}", day(&e.occurred_at), e.kind.as_str());
        if let Some(m) = &e.amount {
            text.push_str(&format!(" {m}"));
        }
        text.push_str(&format!(" ({})", e.channel.as_str()));
        HistoryItem {
            id: e.id.as_uuid(),
            customer: e.customer_id,
            source: Source::Event,
            kind: e.kind.as_str().to_owned(),
            at: e.occurred_at,
            text,
        }
    }

    /// "2026-10-01 telegram, the customer wrote: …" / "… we replied: …".
    pub fn from_message(m: &StoredMessage) -> Self {
        let (kind, who) = match m.direction {
            crate::domain::Direction::Inbound => ("message_in", "the customer wrote"),
            crate::domain::Direction::Outbound => ("message_out", "we replied"),
        };
        HistoryItem {
            id: m.id.as_uuid(),
            customer: m.customer_id,
            source: Source::Message,
            kind: kind.to_owned(),
            at: m.at,
            text: format!("{} {}, {who}: {}", day(&m.at), m.channel.as_str(), m.text),
        }
    }

    fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.customer.to_string().as_bytes());
        h.update([0]);
        h.update(self.kind.as_bytes());
        h.update([0]);
        h.update(self.at.unix_micros().to_le_bytes());
        h.update(self.text.as_bytes());
        hex::encode(h.finalize())
    }

    fn payload(&self) -> Map<String, Value> {
        match json!({
            "customer_id": self.customer.to_string(),
            "source": self.source.as_str(),
            "source_id": self.id.to_string(),
            "kind": self.kind,
            "at": self.at.to_rfc3339(),
            "at_us": self.at.unix_micros(),
            "text": self.text,
            "digest": self.digest(),
        }) {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}

/// One remembered item, as recalled for a customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Recalled {
    pub id: Uuid,
    pub text: String,
    /// Found by relevance to the query (else: one of the most recent).
    pub relevant: bool,
}

/// The history collection.
#[derive(Clone)]
pub struct History {
    index: Arc<dyn VectorIndex>,
    /// `None`: BM25 only; nothing is lost without the model.
    embedder: Option<Arc<dyn Embedder>>,
    collection: String,
    bm25: Bm25Params,
    ready: Arc<tokio::sync::OnceCell<()>>,
}

fn customer_filter(customer: CustomerId) -> Filter {
    Filter::all().eq("customer_id", customer.to_string())
}

fn str_of<'a>(p: &'a Map<String, Value>, key: &str) -> &'a str {
    p.get(key).and_then(Value::as_str).unwrap_or("")
}

impl History {
    pub fn new(
        index: Arc<dyn VectorIndex>,
        embedder: Option<Arc<dyn Embedder>>,
        collection: &str,
    ) -> Self {
        Self {
            index,
            embedder,
            collection: collection.to_owned(),
            bm25: Bm25Params {
                avg_len: 24.0,
                ..Bm25Params::default()
            },
            ready: Arc::default(),
        }
    }

    pub fn collection(&self) -> &str {
        &self.collection
    }

    pub(crate) fn spec(&self) -> CollectionSpec {
        CollectionSpec {
            dense_dim: self.embedder.as_ref().map(|e| e.dim()),
            dense_model: self.embedder.as_ref().map(|e| e.describe()),
            sparse: true,
            keyword_fields: vec!["customer_id".into(), "source_id".into()],
        }
    }

    pub(crate) fn index_port(&self) -> &Arc<dyn VectorIndex> {
        &self.index
    }

    /// Creates the collection once per process; one made with another
    /// embedder is rebuilt from its own payloads (`rebuild.rs`).
    pub async fn prepare(&self) -> anyhow::Result<()> {
        self.ready
            .get_or_try_init(|| async { super::history_rebuild::ensure(self).await })
            .await?;
        Ok(())
    }

    /// Builds the points of `items` (embedding them as passages).
    pub(crate) async fn points(&self, items: &[HistoryItem]) -> anyhow::Result<Vec<Point>> {
        let texts: Vec<String> = items.iter().map(|i| i.text.clone()).collect();
        let dense = match &self.embedder {
            Some(e) if !texts.is_empty() => Some(e.embed(EmbedRole::Passage, texts).await?),
            _ => None,
        };
        Ok(items
            .iter()
            .enumerate()
            .map(|(j, item)| Point {
                id: item.id,
                dense: dense.as_ref().and_then(|d| d.get(j).cloned()),
                sparse: Some(bm25::document_vector(&item.text, self.bm25)),
                payload: item.payload(),
            })
            .collect())
    }

    /// Upserts the items whose stored point differs (or is missing);
    /// returns how many were written. Idempotent.
    pub async fn index(&self, items: Vec<HistoryItem>) -> anyhow::Result<usize> {
        if items.is_empty() {
            return Ok(0);
        }
        self.prepare().await?;
        let ids: Vec<Value> = items
            .iter()
            .map(|i| Value::from(i.id.to_string()))
            .collect();
        let stored: HashMap<Uuid, String> = self
            .index
            .list(
                &self.collection,
                Filter::all().any("source_id", ids),
                "digest",
            )
            .await?
            .into_iter()
            .filter_map(|(id, d)| Some((id, d?.as_str()?.to_owned())))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let todo: Vec<HistoryItem> = items
            .into_iter()
            .filter(|i| stored.get(&i.id) != Some(&i.digest()) && seen.insert(i.id))
            .collect();
        for batch in todo.chunks(32) {
            let points = self.points(batch).await?;
            self.index.upsert(&self.collection, points).await?;
        }
        Ok(todo.len())
    }

    /// The customer's `k` most relevant items for `query` (dense + BM25,
    /// fused by reciprocal rank), then up to `recent` of their most recent
    /// ones not already included. Only this customer's items, always.
    pub async fn recall(
        &self,
        customer: CustomerId,
        query: &str,
        k: usize,
        recent: usize,
    ) -> anyhow::Result<Vec<Recalled>> {
        match self.recall_inner(customer, query, k, recent).await {
            Err(e)
                if e.downcast_ref::<VectorError>()
                    .is_some_and(|v| matches!(v, VectorError::NoCollection(_))) =>
            {
                Ok(Vec::new())
            }
            other => other,
        }
    }

    async fn recall_inner(
        &self,
        customer: CustomerId,
        query: &str,
        k: usize,
        recent: usize,
    ) -> anyhow::Result<Vec<Recalled>> {
        let filter = customer_filter(customer);
        let n = (k * 4).max(20);
        let (dense_hits, sparse_hits) = fusion::search_lists(
            &*self.index,
            &self.collection,
            self.embedder.as_deref(),
            query,
            &filter,
            n,
            (k > 0, k > 0),
        )
        .await?;
        let cands = fusion::candidates(&dense_hits, &sparse_hits, &[]);
        let scores = fusion::chunk_scores(
            &cands,
            None,
            Fusion::Rrf {
                k: 60.0,
                dense_weight: if dense_hits.is_empty() { 0.0 } else { 0.5 },
            },
        );
        let mut fused: Vec<(Hit, f64)> = cands.into_iter().map(|c| c.hit).zip(scores).collect();
        fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
        let own = customer.to_string();
        let mut out: Vec<Recalled> = fused
            .into_iter()
            .filter(|(h, _)| str_of(&h.payload, "customer_id") == own)
            .take(k)
            .map(|(h, _)| Recalled {
                id: h.id,
                text: str_of(&h.payload, "text").to_owned(),
                relevant: true,
            })
            .collect();
        if recent > 0 {
            let mut dated: Vec<(i64, Uuid)> = self
                .index
                .list(&self.collection, filter.clone(), "at_us")
                .await?
                .into_iter()
                .filter(|(id, _)| !out.iter().any(|r| r.id == *id))
                .map(|(id, at)| (at.and_then(|v| v.as_i64()).unwrap_or(i64::MIN), id))
                .collect();
            dated.sort_by(|a, b| b.cmp(a));
            dated.truncate(recent);
            if !dated.is_empty() {
                let ids = dated
                    .iter()
                    .map(|(_, id)| Value::from(id.to_string()))
                    .collect();
                let texts: HashMap<Uuid, String> = self
                    .index
                    .list(&self.collection, filter.any("source_id", ids), "text")
                    .await?
                    .into_iter()
                    .filter_map(|(id, t)| Some((id, t?.as_str()?.to_owned())))
                    .collect();
                for (_, id) in dated {
                    if let Some(text) = texts.get(&id) {
                        out.push(Recalled {
                            id,
                            text: text.clone(),
                            relevant: false,
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// The records indexed for `customer`: (record id, source).
    pub async fn sources_of(&self, customer: CustomerId) -> anyhow::Result<Vec<(Uuid, Source)>> {
        let listed = match self
            .index
            .list(&self.collection, customer_filter(customer), "source")
            .await
        {
            Err(VectorError::NoCollection(_)) => return Ok(Vec::new()),
            other => other?,
        };
        Ok(listed
            .into_iter()
            .filter_map(|(id, s)| Some((id, Source::parse(s?.as_str()?)?)))
            .collect())
    }

    /// Removes points (records that no longer exist).
    pub async fn forget(&self, ids: Vec<Uuid>) -> anyhow::Result<()> {
        Ok(self.index.delete(&self.collection, ids).await?)
    }
}
