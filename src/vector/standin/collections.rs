//! The Collections service: create (with metadata), info, exists, list,
//! delete.

use std::collections::HashMap;
use std::sync::Arc;

use qdrant_client::qdrant::{
    CollectionConfig, CollectionDescription, CollectionExists, CollectionExistsRequest,
    CollectionExistsResponse, CollectionInfo, CollectionOperationResponse, CollectionParams,
    CollectionStatus, CreateCollection, DeleteCollection, Distance, GetCollectionInfoRequest,
    GetCollectionInfoResponse, ListCollectionsRequest, ListCollectionsResponse, Modifier,
    PayloadSchemaInfo, PayloadSchemaType, SparseVectorConfig, SparseVectorParams, VectorParams,
    VectorParamsMap, VectorsConfig, collections_server, vectors_config,
};
use tonic::{Request, Response, Status};

use super::{Meta, State, bad, unsupported, unsupported_calls, vector_status};
use crate::pipeline::ports::{CollectionSpec, VectorIndex};
use crate::vector::grpc::{DENSE, SPARSE};

pub(super) struct Collections(pub(super) Arc<State>);

fn valid_name(name: &str) -> Result<(), Status> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "collection name {name:?}: ASCII letters, digits, - or _ only here"
        )))
    }
}

/// The stand-in's meta from a create request; refuses what the edge
/// shard behind it would store differently.
fn meta_of(req: &CreateCollection) -> Result<Meta, Status> {
    let dense_dim = match req.vectors_config.as_ref().and_then(|v| v.config.as_ref()) {
        None => None,
        Some(vectors_config::Config::ParamsMap(m)) => match m.map.iter().next() {
            None => None,
            Some((name, p)) if m.map.len() == 1 && name == DENSE => {
                if p.distance != i32::from(Distance::Cosine) {
                    return Err(unsupported("distances other than Cosine"));
                }
                if p.size == 0 {
                    return Err(bad("vector size must be at least 1"));
                }
                Some(p.size)
            }
            _ => {
                return Err(unsupported(&format!(
                    "dense vectors other than one named {DENSE}"
                )));
            }
        },
        Some(vectors_config::Config::Params(_)) => return Err(unsupported("an unnamed vector")),
    };
    let sparse = match &req.sparse_vectors_config {
        None => false,
        Some(c) if c.map.is_empty() => false,
        Some(c) => match c.map.get(SPARSE) {
            Some(p) if c.map.len() == 1 && p.modifier == Some(Modifier::Idf.into()) => true,
            _ => {
                return Err(unsupported(&format!(
                    "sparse vectors other than one {SPARSE} with IDF"
                )));
            }
        },
    };
    Ok(Meta {
        dense_dim,
        sparse,
        metadata: req
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect(),
        keyword_indexes: Vec::new(),
    })
}

fn info(meta: &Meta, points: u64) -> CollectionInfo {
    let vectors_config = meta.dense_dim.map(|size| VectorsConfig {
        config: Some(vectors_config::Config::ParamsMap(VectorParamsMap {
            map: HashMap::from([(
                DENSE.to_owned(),
                VectorParams {
                    size,
                    distance: Distance::Cosine.into(),
                    ..Default::default()
                },
            )]),
        })),
    });
    let sparse_vectors_config = meta.sparse.then(|| SparseVectorConfig {
        map: HashMap::from([(
            SPARSE.to_owned(),
            SparseVectorParams {
                modifier: Some(Modifier::Idf.into()),
                ..Default::default()
            },
        )]),
    });
    CollectionInfo {
        status: CollectionStatus::Green.into(),
        segments_count: 1,
        config: Some(CollectionConfig {
            params: Some(CollectionParams {
                shard_number: 1,
                vectors_config,
                sparse_vectors_config,
                ..Default::default()
            }),
            metadata: meta
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect(),
            ..Default::default()
        }),
        payload_schema: meta
            .keyword_indexes
            .iter()
            .map(|f| {
                let schema = PayloadSchemaInfo {
                    data_type: PayloadSchemaType::Keyword.into(),
                    ..Default::default()
                };
                (f.clone(), schema)
            })
            .collect(),
        points_count: Some(points),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl collections_server::Collections for Collections {
    async fn get(
        &self,
        request: Request<GetCollectionInfoRequest>,
    ) -> Result<Response<GetCollectionInfoResponse>, Status> {
        let name = request.into_inner().collection_name;
        let meta = self.0.meta(&name)?;
        let points = self.0.index.count(&name).await.map_err(vector_status)?;
        Ok(Response::new(GetCollectionInfoResponse {
            result: Some(info(&meta, points as u64)),
            time: 0.0,
        }))
    }

    async fn list(
        &self,
        _request: Request<ListCollectionsRequest>,
    ) -> Result<Response<ListCollectionsResponse>, Status> {
        let mut names: Vec<String> = self.0.metas.lock().keys().cloned().collect();
        names.sort();
        Ok(Response::new(ListCollectionsResponse {
            collections: names
                .into_iter()
                .map(|name| CollectionDescription { name })
                .collect(),
            time: 0.0,
        }))
    }

    async fn create(
        &self,
        request: Request<CreateCollection>,
    ) -> Result<Response<CollectionOperationResponse>, Status> {
        let req = request.into_inner();
        let name = req.collection_name.clone();
        valid_name(&name)?;
        let meta = meta_of(&req)?;
        let _ddl = self.0.ddl.lock().await;
        if self.0.meta(&name).is_ok() {
            return Err(Status::already_exists(format!(
                "Wrong input: Collection `{name}` already exists!"
            )));
        }
        let spec = CollectionSpec {
            dense_dim: meta.dense_dim.map(|d| d as usize),
            dense_model: None,
            sparse: meta.sparse,
            keyword_fields: Vec::new(),
        };
        // Shard files without a meta file are a creation that did not finish.
        self.0
            .index
            .drop_collection(&name)
            .await
            .map_err(vector_status)?;
        self.0
            .index
            .ensure_collection(&name, spec)
            .await
            .map_err(vector_status)?;
        self.0.save_meta(&name, Some(meta))?;
        Ok(Response::new(CollectionOperationResponse {
            result: true,
            time: 0.0,
        }))
    }

    async fn delete(
        &self,
        request: Request<DeleteCollection>,
    ) -> Result<Response<CollectionOperationResponse>, Status> {
        let name = request.into_inner().collection_name;
        let _ddl = self.0.ddl.lock().await;
        let existed = self.0.meta(&name).is_ok();
        if existed {
            self.0.save_meta(&name, None)?;
            self.0
                .index
                .drop_collection(&name)
                .await
                .map_err(vector_status)?;
        }
        Ok(Response::new(CollectionOperationResponse {
            result: existed,
            time: 0.0,
        }))
    }

    async fn collection_exists(
        &self,
        request: Request<CollectionExistsRequest>,
    ) -> Result<Response<CollectionExistsResponse>, Status> {
        let name = request.into_inner().collection_name;
        Ok(Response::new(CollectionExistsResponse {
            result: Some(CollectionExists {
                exists: self.0.meta(&name).is_ok(),
            }),
            time: 0.0,
        }))
    }

    unsupported_calls! {
        update(UpdateCollection) -> CollectionOperationResponse;
        update_aliases(ChangeAliases) -> CollectionOperationResponse;
        list_collection_aliases(ListCollectionAliasesRequest) -> ListAliasesResponse;
        list_aliases(ListAliasesRequest) -> ListAliasesResponse;
        collection_cluster_info(CollectionClusterInfoRequest) -> CollectionClusterInfoResponse;
        update_collection_cluster_setup(UpdateCollectionClusterSetupRequest) -> UpdateCollectionClusterSetupResponse;
        create_shard_key(CreateShardKeyRequest) -> CreateShardKeyResponse;
        delete_shard_key(DeleteShardKeyRequest) -> DeleteShardKeyResponse;
        list_shard_keys(ListShardKeysRequest) -> ListShardKeysResponse;
    }
}
