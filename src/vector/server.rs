//! `VectorIndex` over a Qdrant server (gRPC, qdrant-client). Collections
//! hold a named cosine dense vector (`dense`) and a named sparse vector with
//! the IDF modifier (`bm25`), as `EdgeIndex` does; point ids are UUIDs. The
//! port's `CollectionSpec` is stored as JSON text in the collection's
//! metadata (`holdfast_spec`), so a second process, or a restart, compares
//! against what the collection was created with. Fused queries run as one
//! Query API call: two prefetches (dense, sparse) fused by parameterised RRF
//! (`k`, per-source weights), the form qdrant-client 1.20 speaks; Qdrant
//! servers from 1.20 on apply both.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use qdrant_client::qdrant::{
    self, CountPoints, CreateCollection, CreateFieldIndexCollection, DeleteCollection,
    DeletePoints, Distance, FieldType, Modifier, PointsIdsList, PointsSelector, PrefetchQuery,
    QueryPoints, ScrollPoints, SparseVectorConfig, SparseVectorParams, UpsertPoints, VectorInput,
    VectorParams, VectorParamsMap, VectorsConfig, WithPayloadSelector, points_selector,
    query::Variant, vector_input, vectors_config, with_payload_selector,
};
use qdrant_client::{Qdrant, QdrantError};
use serde_json::Value;
use uuid::Uuid;

use super::grpc::{
    DENSE, SPARSE, SPEC_KEY, filter_to_grpc, id_from_grpc, id_to_grpc, payload_from_grpc,
    point_to_grpc,
};
use super::spec_json;
use crate::pipeline::ports::{
    CollectionSpec, Filter, Hit, Point, Query, SparseVec, VectorError, VectorIndex, VectorResult,
};

/// Points per upsert request (keeps messages well under gRPC size limits).
const UPSERT_BATCH: usize = 256;
/// Points per scroll page in `list`.
const SCROLL_PAGE: u32 = 1000;

/// How to reach the server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// gRPC endpoint, e.g. `http://127.0.0.1:6334`.
    pub url: String,
    /// Sent as the `api-key` header when set.
    pub api_key: Option<String>,
    /// Per-request and connect timeout.
    pub timeout: Duration,
}

/// A Qdrant server's collections.
#[derive(Clone)]
pub struct QdrantServerIndex {
    client: Qdrant,
}

impl QdrantServerIndex {
    /// Builds the client and checks the server answers (health check).
    pub async fn connect(opts: ServerOptions) -> anyhow::Result<Self> {
        let client = Qdrant::from_url(&opts.url)
            .api_key(opts.api_key.clone())
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout)
            .skip_compatibility_check()
            .build()
            .with_context(|| format!("qdrant client for {}", opts.url))?;
        let health = client
            .health_check()
            .await
            .with_context(|| format!("qdrant at {} does not answer", opts.url))?;
        tracing::debug!(url = %opts.url, version = %health.version, "qdrant server connected");
        Ok(Self { client })
    }

    /// The stored spec (as JSON) and the indexed payload keys, or `None`
    /// when the collection does not exist.
    async fn stored(&self, name: &str) -> VectorResult<Option<(Value, Vec<String>)>> {
        let info = match self.client.collection_info(name).await {
            Ok(r) => r.result.unwrap_or_default(),
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(error(name, "collection info", e)),
        };
        let spec = info
            .config
            .and_then(|c| c.metadata.get(SPEC_KEY).cloned())
            .and_then(|v| match Value::from(v) {
                Value::String(s) => serde_json::from_str(&s).ok(),
                _ => None,
            })
            .ok_or_else(|| VectorError::Mismatch {
                name: name.to_owned(),
                reason: format!("exists without a valid {SPEC_KEY} in its metadata"),
            })?;
        Ok(Some((spec, info.payload_schema.into_keys().collect())))
    }

    async fn create(&self, name: &str, spec: &CollectionSpec) -> Result<(), QdrantError> {
        let mut req = CreateCollection {
            collection_name: name.to_owned(),
            metadata: HashMap::from([(
                SPEC_KEY.to_owned(),
                Value::String(spec_json(spec).to_string()).into(),
            )]),
            ..Default::default()
        };
        if let Some(dim) = spec.dense_dim {
            let params = VectorParams {
                size: dim as u64,
                distance: Distance::Cosine.into(),
                ..Default::default()
            };
            req.vectors_config = Some(VectorsConfig {
                config: Some(vectors_config::Config::ParamsMap(VectorParamsMap {
                    map: HashMap::from([(DENSE.to_owned(), params)]),
                })),
            });
        }
        if spec.sparse {
            let params = SparseVectorParams {
                modifier: Some(Modifier::Idf.into()),
                ..Default::default()
            };
            req.sparse_vectors_config = Some(SparseVectorConfig {
                map: HashMap::from([(SPARSE.to_owned(), params)]),
            });
        }
        self.client.create_collection(req).await.map(|_| ())
    }

    async fn delete_points(&self, collection: &str, selector: PointsSelector) -> VectorResult<()> {
        self.client
            .delete_points(DeletePoints {
                collection_name: collection.to_owned(),
                wait: Some(true),
                points: Some(selector),
                ..Default::default()
            })
            .await
            .map_err(|e| error(collection, "delete", e))?;
        Ok(())
    }
}

fn not_found(e: &QdrantError) -> bool {
    matches!(e, QdrantError::ResponseError { status } if status.code() == tonic::Code::NotFound)
}

fn error(collection: &str, what: &str, e: QdrantError) -> VectorError {
    if not_found(&e) {
        VectorError::NoCollection(collection.to_owned())
    } else {
        VectorError::Other(anyhow!(e).context(format!("qdrant {what} on {collection}")))
    }
}

fn nearest(using: &str, v: vector_input::Variant) -> (Option<qdrant::Query>, Option<String>) {
    let q = qdrant::Query {
        variant: Some(Variant::Nearest(VectorInput { variant: Some(v) })),
    };
    (Some(q), Some(using.to_owned()))
}

fn dense_input(v: Vec<f32>) -> vector_input::Variant {
    vector_input::Variant::Dense(qdrant::DenseVector { data: v })
}

fn sparse_input(s: SparseVec) -> vector_input::Variant {
    vector_input::Variant::Sparse(qdrant::SparseVector {
        indices: s.indices,
        values: s.values,
    })
}

fn payload_selector(sel: with_payload_selector::SelectorOptions) -> Option<WithPayloadSelector> {
    Some(WithPayloadSelector {
        selector_options: Some(sel),
    })
}

#[async_trait]
impl VectorIndex for QdrantServerIndex {
    fn backend(&self) -> &'static str {
        "server"
    }

    async fn ensure_collection(&self, name: &str, spec: CollectionSpec) -> VectorResult<()> {
        let want = spec_json(&spec);
        let indexed = match self.stored(name).await? {
            Some(found) => found,
            None => match self.create(name, &spec).await {
                Ok(()) => (want.clone(), Vec::new()),
                // Someone else may have created it meanwhile: compare with theirs.
                Err(e) => self
                    .stored(name)
                    .await?
                    .ok_or_else(|| error(name, "create collection", e))?,
            },
        };
        let (stored, indexed) = indexed;
        if stored != want {
            return Err(VectorError::Mismatch {
                name: name.to_owned(),
                reason: format!("exists as {stored}, wanted {want}"),
            });
        }
        for field in spec.keyword_fields.iter().filter(|f| !indexed.contains(f)) {
            self.client
                .create_field_index(CreateFieldIndexCollection {
                    collection_name: name.to_owned(),
                    wait: Some(true),
                    field_name: field.clone(),
                    field_type: Some(FieldType::Keyword.into()),
                    ..Default::default()
                })
                .await
                .map_err(|e| error(name, "create field index", e))?;
        }
        Ok(())
    }

    async fn drop_collection(&self, name: &str) -> VectorResult<()> {
        match self
            .client
            .delete_collection(DeleteCollection {
                collection_name: name.to_owned(),
                ..Default::default()
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(error(name, "delete collection", e)),
        }
    }

    async fn upsert(&self, collection: &str, points: Vec<Point>) -> VectorResult<()> {
        let mut points = points.into_iter().map(point_to_grpc).peekable();
        while points.peek().is_some() {
            let batch: Vec<_> = points.by_ref().take(UPSERT_BATCH).collect();
            self.client
                .upsert_points(UpsertPoints {
                    collection_name: collection.to_owned(),
                    wait: Some(true),
                    points: batch,
                    ..Default::default()
                })
                .await
                .map_err(|e| error(collection, "upsert", e))?;
        }
        Ok(())
    }

    async fn delete(&self, collection: &str, ids: Vec<Uuid>) -> VectorResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = ids.into_iter().map(id_to_grpc).collect();
        self.delete_points(
            collection,
            PointsSelector {
                points_selector_one_of: Some(points_selector::PointsSelectorOneOf::Points(
                    PointsIdsList { ids },
                )),
            },
        )
        .await
    }

    async fn delete_where(&self, collection: &str, filter: Filter) -> VectorResult<()> {
        // Qdrant's empty filter selects every point, as the port's does.
        let f = filter_to_grpc(&filter)?.unwrap_or_default();
        self.delete_points(
            collection,
            PointsSelector {
                points_selector_one_of: Some(points_selector::PointsSelectorOneOf::Filter(f)),
            },
        )
        .await
    }

    async fn query(
        &self,
        collection: &str,
        query: Query,
        filter: Filter,
        limit: usize,
    ) -> VectorResult<Vec<Hit>> {
        let filter = filter_to_grpc(&filter)?;
        let mut req = QueryPoints {
            collection_name: collection.to_owned(),
            filter: filter.clone(),
            limit: Some(limit.max(1) as u64),
            with_payload: payload_selector(with_payload_selector::SelectorOptions::Enable(true)),
            ..Default::default()
        };
        match query {
            Query::Dense(v) => (req.query, req.using) = nearest(DENSE, dense_input(v)),
            Query::Sparse(s) => (req.query, req.using) = nearest(SPARSE, sparse_input(s)),
            Query::Rrf {
                dense,
                sparse,
                candidates,
                k,
                weights,
            } => {
                let prefetch =
                    |(query, using): (Option<qdrant::Query>, Option<String>)| PrefetchQuery {
                        query,
                        using,
                        filter: filter.clone(),
                        limit: Some(candidates as u64),
                        ..Default::default()
                    };
                req.prefetch = vec![
                    prefetch(nearest(DENSE, dense_input(dense))),
                    prefetch(nearest(SPARSE, sparse_input(sparse))),
                ];
                req.query = Some(qdrant::Query {
                    variant: Some(Variant::Rrf(qdrant::Rrf {
                        k: Some(u32::try_from(k).unwrap_or(u32::MAX)),
                        weights: weights.map(|w| w.to_vec()).unwrap_or_default(),
                    })),
                });
            }
        }
        let found = self
            .client
            .query(req)
            .await
            .map_err(|e| error(collection, "query", e))?;
        found
            .result
            .into_iter()
            .map(|p| {
                Ok(Hit {
                    id: id_from_grpc(p.id.as_ref())?,
                    score: p.score,
                    payload: payload_from_grpc(p.payload),
                })
            })
            .collect()
    }

    async fn list(
        &self,
        collection: &str,
        filter: Filter,
        key: &str,
    ) -> VectorResult<Vec<(Uuid, Option<Value>)>> {
        let filter = filter_to_grpc(&filter)?;
        let mut out = Vec::new();
        let mut offset = None;
        loop {
            let page = self
                .client
                .scroll(ScrollPoints {
                    collection_name: collection.to_owned(),
                    filter: filter.clone(),
                    offset,
                    limit: Some(SCROLL_PAGE),
                    with_payload: payload_selector(
                        with_payload_selector::SelectorOptions::Include(
                            qdrant::PayloadIncludeSelector {
                                fields: vec![key.to_owned()],
                            },
                        ),
                    ),
                    ..Default::default()
                })
                .await
                .map_err(|e| error(collection, "scroll", e))?;
            for r in page.result {
                let v = r.payload.get(key).cloned().map(Value::from);
                out.push((id_from_grpc(r.id.as_ref())?, v));
            }
            match page.next_page_offset {
                Some(next) => offset = Some(next),
                None => break,
            }
        }
        Ok(out)
    }

    async fn count(&self, collection: &str) -> VectorResult<usize> {
        let r = self
            .client
            .count(CountPoints {
                collection_name: collection.to_owned(),
                exact: Some(true),
                ..Default::default()
            })
            .await
            .map_err(|e| error(collection, "count", e))?;
        Ok(r.result.map_or(0, |c| c.count as usize))
    }
}
