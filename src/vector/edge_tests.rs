use serde_json::json;

use super::*;

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

async fn filled(dir: &Path) -> EdgeIndex {
    let idx = EdgeIndex::open(dir).unwrap();
    idx.ensure_collection("kb", spec()).await.unwrap();
    idx.upsert(
        "kb",
        vec![
            point(1, [1.0, 0.0, 0.0], &[1, 2], "en"),
            point(2, [0.0, 1.0, 0.0], &[2, 3], "ru"),
            point(3, [0.0, 0.0, 1.0], &[4], "en"),
        ],
    )
    .await
    .unwrap();
    idx
}

#[tokio::test]
async fn dense_sparse_and_fused_queries_rank_and_filter() {
    let dir = tempfile::tempdir().unwrap();
    let idx = filled(dir.path()).await;

    let d = idx
        .query("kb", Query::Dense(vec![0.1, 0.9, 0.0]), Filter::all(), 3)
        .await
        .unwrap();
    assert_eq!(d[0].id, Uuid::from_u128(2));
    assert_eq!(d[0].payload["lang"], json!("ru"));

    let s = idx
        .query(
            "kb",
            Query::Sparse(SparseVec {
                indices: vec![4],
                values: vec![1.0],
            }),
            Filter::all(),
            3,
        )
        .await
        .unwrap();
    assert_eq!(s.len(), 1, "only the point with term 4 scores");
    assert_eq!(s[0].id, Uuid::from_u128(3));

    let fused = idx
        .query(
            "kb",
            Query::Rrf {
                dense: vec![0.0, 1.0, 0.0],
                sparse: SparseVec {
                    indices: vec![2],
                    values: vec![1.0],
                },
                candidates: 10,
                k: 60,
                weights: None,
            },
            Filter::all().eq("lang", "en"),
            3,
        )
        .await
        .unwrap();
    assert!(!fused.is_empty());
    assert!(fused.iter().all(|h| h.payload["lang"] == json!("en")));
    assert_eq!(fused[0].id, Uuid::from_u128(1));
}

#[tokio::test]
async fn delete_list_and_reopen_persist() {
    let dir = tempfile::tempdir().unwrap();
    {
        let idx = filled(dir.path()).await;
        idx.delete("kb", vec![Uuid::from_u128(1)]).await.unwrap();
        idx.delete_where("kb", Filter::all().eq("lang", "ru"))
            .await
            .unwrap();
    }
    let idx = EdgeIndex::open(dir.path()).unwrap();
    idx.ensure_collection("kb", spec()).await.unwrap();
    let listed = idx.list("kb", Filter::all(), "hash").await.unwrap();
    assert_eq!(listed, vec![(Uuid::from_u128(3), Some(json!("h3")))]);
    assert_eq!(idx.count("kb").await.unwrap(), 1);

    let other = CollectionSpec {
        dense_dim: Some(4),
        ..spec()
    };
    assert!(matches!(
        idx.ensure_collection("kb", other).await,
        Err(VectorError::Mismatch { .. })
    ));
    assert!(matches!(
        idx.count("missing").await,
        Err(VectorError::NoCollection(_))
    ));
}
