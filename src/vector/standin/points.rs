//! The Points service: upsert, delete (ids or filter), scroll, count,
//! query (dense, sparse, RRF over two prefetches), keyword field indexes.

use std::collections::HashMap;
use std::sync::Arc;

use qdrant_client::qdrant::{
    self, CountPoints, CountResponse, CountResult, CreateFieldIndexCollection, DeletePoints,
    FieldType, PointsOperationResponse, QueryPoints, QueryResponse, RetrievedPoint, ScoredPoint,
    ScrollPoints, ScrollResponse, UpdateResult, UpdateStatus, UpsertPoints, WithPayloadSelector,
    points_selector::PointsSelectorOneOf, points_server, query::Variant, vector_input,
    with_payload_selector::SelectorOptions,
};
use serde_json::{Map, Value};
use tonic::{Request, Response, Status};

use super::{Meta, State, bad, unsupported, unsupported_calls, vector_status};
use crate::pipeline::ports::{Filter, Query, SparseVec, VectorIndex};
use crate::vector::grpc::{
    DENSE, SPARSE, filter_from_grpc, id_from_grpc, id_to_grpc, payload_to_grpc, point_from_grpc,
};

pub(super) struct Points(pub(super) Arc<State>);

/// Qdrant's defaults where a request leaves them out.
const DEFAULT_LIMIT: u64 = 10;
const DEFAULT_RRF_K: u32 = 2;

fn done() -> Response<PointsOperationResponse> {
    Response::new(PointsOperationResponse {
        result: Some(UpdateResult {
            operation_id: Some(0),
            status: UpdateStatus::Completed.into(),
        }),
        time: 0.0,
        usage: None,
    })
}

/// The payload a selector asks for (Query and Scroll default to none).
fn select(
    payload: Map<String, Value>,
    sel: Option<&WithPayloadSelector>,
) -> HashMap<String, qdrant::Value> {
    let keep: Box<dyn Fn(&str) -> bool + '_> = match sel.and_then(|s| s.selector_options.as_ref()) {
        None | Some(SelectorOptions::Enable(false)) => return HashMap::new(),
        Some(SelectorOptions::Enable(true)) => Box::new(|_| true),
        Some(SelectorOptions::Include(i)) => Box::new(move |k| i.fields.iter().any(|f| f == k)),
        Some(SelectorOptions::Exclude(e)) => Box::new(move |k| !e.fields.iter().any(|f| f == k)),
    };
    payload_to_grpc(payload.into_iter().filter(|(k, _)| keep(k)).collect())
}

/// One `nearest` query on a named vector of this collection.
fn nearest(
    meta: &Meta,
    query: Option<&qdrant::Query>,
    using: Option<&str>,
) -> Result<Query, Status> {
    let Some(Variant::Nearest(input)) = query.and_then(|q| q.variant.as_ref()) else {
        return Err(unsupported("queries other than nearest and RRF"));
    };
    match (using.unwrap_or(""), input.variant.as_ref()) {
        (DENSE, Some(vector_input::Variant::Dense(d))) => match meta.dense_dim {
            Some(dim) if dim == d.data.len() as u64 => Ok(Query::Dense(d.data.clone())),
            Some(dim) => Err(bad(format!(
                "Vector dimension error: expected dim: {dim}, got {}",
                d.data.len()
            ))),
            None => Err(bad(format!("Not existing vector name error: {DENSE}"))),
        },
        (SPARSE, Some(vector_input::Variant::Sparse(s))) if meta.sparse => {
            if s.indices.len() != s.values.len() {
                return Err(bad("sparse indices and values differ in length"));
            }
            Ok(Query::Sparse(SparseVec {
                indices: s.indices.clone(),
                values: s.values.clone(),
            }))
        }
        (name, _) => Err(bad(format!("Not existing vector name error: {name}"))),
    }
}

/// A fusion of a dense and a sparse prefetch, each under the request's
/// own filter (the port applies one filter to both sources).
fn fused(meta: &Meta, req: &QueryPoints, filter: &Filter) -> Result<Query, Status> {
    let (k, weights) = match req.query.as_ref().and_then(|q| q.variant.as_ref()) {
        Some(Variant::Rrf(r)) => (r.k.unwrap_or(DEFAULT_RRF_K), r.weights.clone()),
        Some(Variant::Fusion(f)) if *f == i32::from(qdrant::Fusion::Rrf) => {
            (DEFAULT_RRF_K, Vec::new())
        }
        _ => return Err(unsupported("prefetch with anything but RRF fusion")),
    };
    let [a, b] = req.prefetch.as_slice() else {
        return Err(unsupported("fusion of other than two prefetches"));
    };
    let mut sources = Vec::new();
    for p in [a, b] {
        if !p.prefetch.is_empty() || p.score_threshold.is_some() || p.lookup_from.is_some() {
            return Err(unsupported("nested or thresholded prefetches"));
        }
        if filter_from_grpc(p.filter.as_ref()).map_err(bad)? != *filter {
            return Err(unsupported("prefetch filters that differ from the query's"));
        }
        let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
        sources.push((nearest(meta, p.query.as_ref(), p.using.as_deref())?, limit));
    }
    if sources[0].1 != sources[1].1 {
        return Err(unsupported("prefetches with different limits"));
    }
    if !weights.is_empty() && weights.len() != 2 {
        return Err(bad("RRF weights must match the number of prefetches"));
    }
    let candidates = sources[0].1 as usize;
    let (dense, sparse, swapped) = match (sources.remove(0).0, sources.remove(0).0) {
        (Query::Dense(d), Query::Sparse(s)) => (d, s, false),
        (Query::Sparse(s), Query::Dense(d)) => (d, s, true),
        _ => {
            return Err(unsupported(
                "fusion of other than one dense and one sparse prefetch",
            ));
        }
    };
    let weights = match weights.as_slice() {
        [] => None,
        [x, y] if swapped => Some([*y, *x]),
        [x, y] => Some([*x, *y]),
        _ => None,
    };
    Ok(Query::Rrf {
        dense,
        sparse,
        candidates,
        k: k as usize,
        weights,
    })
}

#[tonic::async_trait]
impl points_server::Points for Points {
    async fn upsert(
        &self,
        request: Request<UpsertPoints>,
    ) -> Result<Response<PointsOperationResponse>, Status> {
        let req = request.into_inner();
        let meta = self.0.meta(&req.collection_name)?;
        if req.update_filter.is_some() || req.shard_key_selector.is_some() {
            return Err(unsupported("conditional or sharded upserts"));
        }
        let mut points = Vec::with_capacity(req.points.len());
        for p in req.points {
            let p = point_from_grpc(p).map_err(bad)?;
            if let Some(d) = &p.dense {
                match meta.dense_dim {
                    Some(dim) if dim == d.len() as u64 => {}
                    Some(dim) => {
                        return Err(bad(format!(
                            "Vector dimension error: expected dim: {dim}, got {}",
                            d.len()
                        )));
                    }
                    None => return Err(bad(format!("Not existing vector name error: {DENSE}"))),
                }
            }
            if let Some(s) = &p.sparse {
                if !meta.sparse {
                    return Err(bad(format!("Not existing vector name error: {SPARSE}")));
                }
                if s.indices.len() != s.values.len() {
                    return Err(bad("sparse indices and values differ in length"));
                }
            }
            points.push(p);
        }
        self.0
            .index
            .upsert(&req.collection_name, points)
            .await
            .map_err(vector_status)?;
        Ok(done())
    }

    async fn delete(
        &self,
        request: Request<DeletePoints>,
    ) -> Result<Response<PointsOperationResponse>, Status> {
        let req = request.into_inner();
        let name = req.collection_name;
        self.0.meta(&name)?;
        let selector = req.points.and_then(|p| p.points_selector_one_of);
        let index = &self.0.index;
        let deleted = match selector {
            Some(PointsSelectorOneOf::Points(list)) => {
                let ids = list
                    .ids
                    .iter()
                    .map(|id| id_from_grpc(Some(id)))
                    .collect::<anyhow::Result<Vec<_>>>()
                    .map_err(bad)?;
                index.delete(&name, ids).await
            }
            Some(PointsSelectorOneOf::Filter(f)) => {
                let f = filter_from_grpc(Some(&f)).map_err(bad)?;
                index.delete_where(&name, f).await
            }
            None => return Err(bad("no points selector")),
        };
        deleted.map_err(vector_status)?;
        Ok(done())
    }

    async fn scroll(
        &self,
        request: Request<ScrollPoints>,
    ) -> Result<Response<ScrollResponse>, Status> {
        let req = request.into_inner();
        self.0.meta(&req.collection_name)?;
        let with_vectors = req
            .with_vectors
            .as_ref()
            .and_then(|w| w.selector_options.as_ref());
        if req.order_by.is_some() || with_vectors.is_some() {
            return Err(unsupported("ordered scrolls or scrolls with vectors"));
        }
        // The port lists one payload key per point: serve selectors asking
        // for at most one.
        let key = match req
            .with_payload
            .as_ref()
            .and_then(|w| w.selector_options.as_ref())
        {
            None | Some(SelectorOptions::Enable(false)) => String::new(),
            Some(SelectorOptions::Include(i)) if i.fields.len() == 1 => i.fields[0].clone(),
            _ => return Err(unsupported("scrolls with more than one payload key")),
        };
        let filter = filter_from_grpc(req.filter.as_ref()).map_err(bad)?;
        let mut all = self
            .0
            .index
            .list(&req.collection_name, filter, &key)
            .await
            .map_err(vector_status)?;
        all.sort_by_key(|(id, _)| *id);
        let start = match &req.offset {
            Some(o) => {
                let from = id_from_grpc(Some(o)).map_err(bad)?;
                all.partition_point(|(id, _)| *id < from)
            }
            None => 0,
        };
        let limit = req.limit.map_or(DEFAULT_LIMIT, u64::from) as usize;
        let next_page_offset = all.get(start + limit).map(|(id, _)| id_to_grpc(*id));
        let result = all
            .into_iter()
            .skip(start)
            .take(limit)
            .map(|(id, v)| RetrievedPoint {
                id: Some(id_to_grpc(id)),
                payload: v
                    .map(|v| HashMap::from([(key.clone(), v.into())]))
                    .unwrap_or_default(),
                ..Default::default()
            })
            .collect();
        Ok(Response::new(ScrollResponse {
            next_page_offset,
            result,
            time: 0.0,
            usage: None,
        }))
    }

    async fn count(
        &self,
        request: Request<CountPoints>,
    ) -> Result<Response<CountResponse>, Status> {
        let req = request.into_inner();
        self.0.meta(&req.collection_name)?;
        let filter = filter_from_grpc(req.filter.as_ref()).map_err(bad)?;
        let index = &self.0.index;
        let count = if filter.is_empty() {
            index.count(&req.collection_name).await
        } else {
            index
                .list(&req.collection_name, filter, "")
                .await
                .map(|l| l.len())
        }
        .map_err(vector_status)?;
        Ok(Response::new(CountResponse {
            result: Some(CountResult {
                count: count as u64,
            }),
            time: 0.0,
            usage: None,
        }))
    }

    async fn query(
        &self,
        request: Request<QueryPoints>,
    ) -> Result<Response<QueryResponse>, Status> {
        let req = request.into_inner();
        let meta = self.0.meta(&req.collection_name)?;
        if req.offset.unwrap_or(0) != 0
            || req.score_threshold.is_some()
            || req.lookup_from.is_some()
            || req.shard_key_selector.is_some()
        {
            return Err(unsupported(
                "offsets, thresholds, lookups or shard keys in queries",
            ));
        }
        let filter = filter_from_grpc(req.filter.as_ref()).map_err(bad)?;
        let query = if req.prefetch.is_empty() {
            nearest(&meta, req.query.as_ref(), req.using.as_deref())?
        } else {
            fused(&meta, &req, &filter)?
        };
        let limit = req.limit.unwrap_or(DEFAULT_LIMIT) as usize;
        let hits = self
            .0
            .index
            .query(&req.collection_name, query, filter, limit)
            .await
            .map_err(vector_status)?;
        let result = hits
            .into_iter()
            .map(|h| ScoredPoint {
                id: Some(id_to_grpc(h.id)),
                payload: select(h.payload, req.with_payload.as_ref()),
                score: h.score,
                ..Default::default()
            })
            .collect();
        Ok(Response::new(QueryResponse {
            result,
            time: 0.0,
            usage: None,
        }))
    }

    async fn create_field_index(
        &self,
        request: Request<CreateFieldIndexCollection>,
    ) -> Result<Response<PointsOperationResponse>, Status> {
        let req = request.into_inner();
        let _ddl = self.0.ddl.lock().await;
        let mut meta = self.0.meta(&req.collection_name)?;
        if req.field_type.unwrap_or(FieldType::Keyword.into()) != i32::from(FieldType::Keyword)
            || req.field_index_params.is_some()
        {
            return Err(unsupported("payload indexes other than plain keyword ones"));
        }
        if !meta.keyword_indexes.contains(&req.field_name) {
            meta.keyword_indexes.push(req.field_name);
            self.0.save_meta(&req.collection_name, Some(meta))?;
        }
        Ok(done())
    }

    unsupported_calls! {
        get(GetPoints) -> GetResponse;
        update_vectors(UpdatePointVectors) -> PointsOperationResponse;
        delete_vectors(DeletePointVectors) -> PointsOperationResponse;
        set_payload(SetPayloadPoints) -> PointsOperationResponse;
        overwrite_payload(SetPayloadPoints) -> PointsOperationResponse;
        delete_payload(DeletePayloadPoints) -> PointsOperationResponse;
        clear_payload(ClearPayloadPoints) -> PointsOperationResponse;
        delete_field_index(DeleteFieldIndexCollection) -> PointsOperationResponse;
        create_vector_name(CreateVectorNameRequest) -> PointsOperationResponse;
        delete_vector_name(DeleteVectorNameRequest) -> PointsOperationResponse;
        search(SearchPoints) -> SearchResponse;
        search_batch(SearchBatchPoints) -> SearchBatchResponse;
        search_groups(SearchPointGroups) -> SearchGroupsResponse;
        recommend(RecommendPoints) -> RecommendResponse;
        recommend_batch(RecommendBatchPoints) -> RecommendBatchResponse;
        recommend_groups(RecommendPointGroups) -> RecommendGroupsResponse;
        discover(DiscoverPoints) -> DiscoverResponse;
        discover_batch(DiscoverBatchPoints) -> DiscoverBatchResponse;
        update_batch(UpdateBatchPoints) -> UpdateBatchResponse;
        query_batch(QueryBatchPoints) -> QueryBatchResponse;
        query_groups(QueryPointGroups) -> QueryGroupsResponse;
        facet(FacetCounts) -> FacetResponse;
        search_matrix_pairs(SearchMatrixPoints) -> SearchMatrixPairsResponse;
        search_matrix_offsets(SearchMatrixPoints) -> SearchMatrixOffsetsResponse;
    }
}
