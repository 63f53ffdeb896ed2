//! The same behavioural checks on every `VectorIndex` backend: qdrant-edge
//! in process, and `QdrantServerIndex` through a real socket to the
//! stand-in. Plus what only the server path has (API key, unsupported
//! calls, concurrent creation).

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, json};
use uuid::Uuid;

use super::standin::{self, StandIn};
use super::{EdgeIndex, QdrantServerIndex, ServerOptions};
use crate::pipeline::ports::{
    CollectionSpec, Filter, Point, Query, SparseVec, VectorError, VectorIndex,
};

#[derive(Clone, Copy)]
enum Backend {
    Edge,
    Server,
}

/// An index over the data in a directory; reopening sees the same data.
struct Opened {
    index: Arc<dyn VectorIndex>,
    standin: Option<StandIn>,
}

impl Backend {
    async fn open(self, dir: &Path) -> Opened {
        match self {
            Backend::Edge => Opened {
                index: Arc::new(EdgeIndex::open(dir).unwrap()),
                standin: None,
            },
            Backend::Server => {
                let (index, standin) = standin::server_index(dir).await.unwrap();
                Opened {
                    index,
                    standin: Some(standin),
                }
            }
        }
    }
}

impl Opened {
    async fn close(self) {
        drop(self.index);
        if let Some(s) = self.standin {
            s.stop().await.unwrap();
        }
    }
}

fn spec() -> CollectionSpec {
    CollectionSpec {
        dense_dim: Some(3),
        dense_model: Some("test".into()),
        sparse: true,
        keyword_fields: vec!["lang".into()],
    }
}

fn point(n: u128, dense: [f32; 3], terms: &[u32], lang: &str) -> Point {
    let mut payload = Map::new();
    payload.insert("lang".into(), json!(lang));
    payload.insert("hash".into(), json!(format!("h{n}")));
    payload.insert("n".into(), json!(n as i64));
    Point {
        id: Uuid::from_u128(n),
        dense: Some(dense.to_vec()),
        sparse: Some(SparseVec {
            indices: terms.to_vec(),
            values: vec![1.0; terms.len()],
        }),
        payload,
    }
}

async fn filled(b: Backend, dir: &Path) -> Opened {
    let o = b.open(dir).await;
    o.index.ensure_collection("kb", spec()).await.unwrap();
    o.index
        .upsert(
            "kb",
            vec![
                point(1, [1.0, 0.0, 0.0], &[1, 2], "en"),
                point(2, [0.0, 1.0, 0.0], &[2, 3], "ru"),
                point(3, [0.0, 0.0, 1.0], &[4], "en"),
            ],
        )
        .await
        .unwrap();
    o
}

fn rrf(weights: Option<[f32; 2]>, terms: &[u32]) -> Query {
    Query::Rrf {
        dense: vec![0.0, 1.0, 0.0],
        sparse: SparseVec {
            indices: terms.to_vec(),
            values: vec![1.0; terms.len()],
        },
        candidates: 10,
        // Qdrant weighs a rank, not a score (`1 / ((rank + 1) / w + k - 1)`):
        // with k = 60 weights hardly move anything, with k = 1 they decide.
        k: 1,
        weights,
    }
}

async fn queries_rank_filter_and_weigh(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let o = filled(b, dir.path()).await;
    let idx = &o.index;

    let d = idx
        .query("kb", Query::Dense(vec![0.1, 0.9, 0.0]), Filter::all(), 3)
        .await
        .unwrap();
    assert_eq!(d[0].id, Uuid::from_u128(2));
    assert_eq!(d[0].payload["lang"], json!("ru"));
    assert!(d[0].score > d[1].score && d[0].score <= 1.0001, "{d:?}");

    let sparse4 = SparseVec {
        indices: vec![4],
        values: vec![1.0],
    };
    let s = idx
        .query("kb", Query::Sparse(sparse4), Filter::all(), 3)
        .await
        .unwrap();
    assert_eq!(s.len(), 1, "only the point with term 4 scores");
    assert_eq!(s[0].id, Uuid::from_u128(3));

    let fused = idx
        .query("kb", rrf(None, &[2]), Filter::all().eq("lang", "en"), 3)
        .await
        .unwrap();
    assert!(!fused.is_empty());
    assert!(fused.iter().all(|h| h.payload["lang"] == json!("en")));
    assert_eq!(fused[0].id, Uuid::from_u128(1));

    // Dense ranks 2 first, BM25 (term 4) ranks 3 first: the weights decide.
    let dense_heavy = idx
        .query("kb", rrf(Some([10.0, 0.1]), &[4]), Filter::all(), 3)
        .await
        .unwrap();
    assert_eq!(dense_heavy[0].id, Uuid::from_u128(2));
    let sparse_heavy = idx
        .query("kb", rrf(Some([0.1, 10.0]), &[4]), Filter::all(), 3)
        .await
        .unwrap();
    assert_eq!(sparse_heavy[0].id, Uuid::from_u128(3));

    let any = idx
        .query(
            "kb",
            Query::Dense(vec![1.0, 1.0, 1.0]),
            Filter::all()
                .any("hash", vec![json!("h1"), json!("h3")])
                .eq("n", 3),
            3,
        )
        .await
        .unwrap();
    assert_eq!(
        any.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![Uuid::from_u128(3)]
    );
    o.close().await;
}

async fn deletes_list_and_reopen_persist(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let o = filled(b, dir.path()).await;
    o.index
        .delete("kb", vec![Uuid::from_u128(1)])
        .await
        .unwrap();
    o.index
        .delete_where("kb", Filter::all().eq("lang", "ru"))
        .await
        .unwrap();
    o.close().await;

    let o = b.open(dir.path()).await;
    let idx = &o.index;
    idx.ensure_collection("kb", spec()).await.unwrap();
    let listed = idx.list("kb", Filter::all(), "hash").await.unwrap();
    assert_eq!(listed, vec![(Uuid::from_u128(3), Some(json!("h3")))]);
    assert_eq!(
        idx.list("kb", Filter::all(), "nope").await.unwrap(),
        vec![(Uuid::from_u128(3), None)]
    );
    assert_eq!(idx.count("kb").await.unwrap(), 1);
    idx.delete_where("kb", Filter::all()).await.unwrap();
    assert_eq!(idx.count("kb").await.unwrap(), 0);
    o.close().await;
}

async fn specs_are_checked_and_collections_dropped(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let o = filled(b, dir.path()).await;
    let idx = &o.index;
    idx.ensure_collection("kb", spec()).await.unwrap();
    assert_eq!(idx.count("kb").await.unwrap(), 3, "same spec is a no-op");
    for other in [
        CollectionSpec {
            dense_dim: Some(4),
            ..spec()
        },
        CollectionSpec {
            dense_model: Some("other".into()),
            ..spec()
        },
        CollectionSpec {
            sparse: false,
            ..spec()
        },
    ] {
        assert!(matches!(
            idx.ensure_collection("kb", other).await,
            Err(VectorError::Mismatch { .. })
        ));
    }
    assert!(matches!(
        idx.count("missing").await,
        Err(VectorError::NoCollection(_))
    ));
    assert!(matches!(
        idx.query(
            "missing",
            Query::Dense(vec![1.0, 0.0, 0.0]),
            Filter::all(),
            1
        )
        .await,
        Err(VectorError::NoCollection(_))
    ));
    idx.drop_collection("kb").await.unwrap();
    idx.drop_collection("kb").await.unwrap();
    assert!(matches!(
        idx.count("kb").await,
        Err(VectorError::NoCollection(_))
    ));
    let sparse_only = CollectionSpec {
        dense_dim: None,
        dense_model: None,
        sparse: true,
        keyword_fields: vec![],
    };
    idx.ensure_collection("kb", sparse_only).await.unwrap();
    assert_eq!(idx.count("kb").await.unwrap(), 0);
    o.close().await;
}

async fn large_batches_page_through(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let o = b.open(dir.path()).await;
    o.index.ensure_collection("big", spec()).await.unwrap();
    let points: Vec<Point> = (1..=2100u128)
        .map(|n| {
            point(
                n,
                [1.0, (n % 7) as f32, 0.5],
                &[n as u32 % 50],
                if n % 2 == 0 { "en" } else { "ru" },
            )
        })
        .collect();
    o.index.upsert("big", points).await.unwrap();
    assert_eq!(o.index.count("big").await.unwrap(), 2100);
    let mut listed = o
        .index
        .list("big", Filter::all().eq("lang", "en"), "n")
        .await
        .unwrap();
    listed.sort_by_key(|(id, _)| *id);
    assert_eq!(listed.len(), 1050);
    assert!(
        listed
            .iter()
            .all(|(id, n)| *n == Some(json!(id.as_u128() as i64)) && id.as_u128() % 2 == 0)
    );
    o.close().await;
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod edge {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Edge).await })*
        }
        mod server {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Server).await })*
        }
    };
}

on_both_backends!(
    queries_rank_filter_and_weigh,
    deletes_list_and_reopen_persist,
    specs_are_checked_and_collections_dropped,
    large_batches_page_through,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_api_key_concurrent_creation_and_unsupported_calls() {
    let dir = tempfile::tempdir().unwrap();
    let s = StandIn::serve(
        dir.path(),
        "127.0.0.1:0".parse().unwrap(),
        Some("k3y".into()),
    )
    .await
    .unwrap();
    let opts = |key: Option<&str>| ServerOptions {
        url: s.url(),
        api_key: key.map(str::to_owned),
        timeout: std::time::Duration::from_secs(10),
    };
    let err = QdrantServerIndex::connect(opts(Some("wrong")))
        .await
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("API key"), "{err:#}");
    let idx = QdrantServerIndex::connect(opts(Some("k3y"))).await.unwrap();
    let (a, b) = tokio::join!(
        idx.ensure_collection("kb", spec()),
        idx.ensure_collection("kb", spec())
    );
    a.unwrap();
    b.unwrap();

    let client = qdrant_client::Qdrant::from_url(&s.url())
        .api_key(Some("k3y".to_owned()))
        .skip_compatibility_check()
        .build()
        .unwrap();
    let info = client.collection_info("kb").await.unwrap().result.unwrap();
    assert!(
        info.payload_schema.contains_key("lang"),
        "keyword index created"
    );
    let get = client
        .get_points(qdrant_client::qdrant::GetPoints {
            collection_name: "kb".into(),
            ids: vec![super::grpc::id_to_grpc(Uuid::from_u128(1))],
            ..Default::default()
        })
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&get, qdrant_client::QdrantError::ResponseError { status } if status.code() == tonic::Code::Unimplemented),
        "{get}"
    );
    // A collection someone else made (no spec in its metadata) is not ours.
    client
        .create_collection(qdrant_client::qdrant::CreateCollection {
            collection_name: "foreign".into(),
            vectors_config: Some(qdrant_client::qdrant::VectorsConfig {
                config: Some(qdrant_client::qdrant::vectors_config::Config::ParamsMap(
                    qdrant_client::qdrant::VectorParamsMap {
                        map: [(
                            super::grpc::DENSE.to_owned(),
                            qdrant_client::qdrant::VectorParams {
                                size: 3,
                                distance: qdrant_client::qdrant::Distance::Cosine.into(),
                                ..Default::default()
                            },
                        )]
                        .into(),
                    },
                )),
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(matches!(
        idx.ensure_collection("foreign", spec()).await,
        Err(VectorError::Mismatch { .. })
    ));
}
