//! The port's types in Qdrant's gRPC messages (qdrant-client's protobuf
//! types), both ways: the server backend encodes with these, the stand-in
//! decodes with them, so both sides agree on one mapping.

use std::collections::HashMap;

use anyhow::{anyhow, bail};
use qdrant_client::qdrant::{
    self, Condition, FieldCondition, Match, NamedVectors, PointId, PointStruct, RepeatedIntegers,
    RepeatedStrings, Vector, Vectors, condition::ConditionOneOf, r#match::MatchValue,
    point_id::PointIdOptions, vector, vectors::VectorsOptions,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::pipeline::ports::{Filter, Point, SparseVec};

/// The dense vector's name in a collection.
pub const DENSE: &str = "dense";
/// The sparse (BM25, IDF-modified) vector's name in a collection.
pub const SPARSE: &str = "bm25";
/// Collection metadata key holding the port's `CollectionSpec` as JSON text.
pub const SPEC_KEY: &str = "holdfast_spec";

pub fn id_to_grpc(id: Uuid) -> PointId {
    PointId {
        point_id_options: Some(PointIdOptions::Uuid(id.to_string())),
    }
}

pub fn id_from_grpc(id: Option<&PointId>) -> anyhow::Result<Uuid> {
    match id.and_then(|i| i.point_id_options.as_ref()) {
        Some(PointIdOptions::Uuid(s)) => {
            Uuid::parse_str(s).map_err(|_| anyhow!("point id {s:?} is not a UUID"))
        }
        Some(PointIdOptions::Num(n)) => bail!("unexpected numeric point id {n}"),
        None => bail!("point without an id"),
    }
}

pub fn payload_to_grpc(p: Map<String, Value>) -> HashMap<String, qdrant::Value> {
    p.into_iter().map(|(k, v)| (k, v.into())).collect()
}

pub fn payload_from_grpc(p: HashMap<String, qdrant::Value>) -> Map<String, Value> {
    p.into_iter().map(|(k, v)| (k, v.into())).collect()
}

pub fn dense_vector(v: Vec<f32>) -> Vector {
    Vector {
        vector: Some(vector::Vector::Dense(qdrant::DenseVector { data: v })),
        ..Default::default()
    }
}

pub fn sparse_vector(s: SparseVec) -> Vector {
    Vector {
        vector: Some(vector::Vector::Sparse(qdrant::SparseVector {
            indices: s.indices,
            values: s.values,
        })),
        ..Default::default()
    }
}

pub fn point_to_grpc(p: Point) -> PointStruct {
    let mut vectors = HashMap::new();
    if let Some(d) = p.dense {
        vectors.insert(DENSE.to_owned(), dense_vector(d));
    }
    if let Some(s) = p.sparse {
        vectors.insert(SPARSE.to_owned(), sparse_vector(s));
    }
    PointStruct {
        id: Some(id_to_grpc(p.id)),
        payload: payload_to_grpc(p.payload),
        vectors: Some(Vectors {
            vectors_options: Some(VectorsOptions::Vectors(NamedVectors { vectors })),
        }),
    }
}

/// A stored point back from gRPC: named vectors only, `DENSE` dense and
/// `SPARSE` sparse (anything else is refused rather than dropped).
pub fn point_from_grpc(p: PointStruct) -> anyhow::Result<Point> {
    let id = id_from_grpc(p.id.as_ref())?;
    let mut dense = None;
    let mut sparse = None;
    match p.vectors.and_then(|v| v.vectors_options) {
        None => {}
        Some(VectorsOptions::Vector(_)) => bail!("unnamed vectors are not supported"),
        Some(VectorsOptions::Vectors(named)) => {
            for (name, v) in named.vectors {
                match (name.as_str(), v.vector) {
                    (DENSE, Some(vector::Vector::Dense(d))) => dense = Some(d.data),
                    (SPARSE, Some(vector::Vector::Sparse(s))) => {
                        sparse = Some(SparseVec {
                            indices: s.indices,
                            values: s.values,
                        })
                    }
                    (name, _) => {
                        bail!("vector {name:?} is not a {DENSE} dense or {SPARSE} sparse vector")
                    }
                }
            }
        }
    }
    Ok(Point {
        id,
        dense,
        sparse,
        payload: payload_from_grpc(p.payload),
    })
}

fn condition(key: &str, values: &[Value]) -> anyhow::Result<Condition> {
    let one = |v: &Value| -> anyhow::Result<MatchValue> {
        match v {
            Value::String(s) => Ok(MatchValue::Keyword(s.clone())),
            Value::Bool(b) => Ok(MatchValue::Boolean(*b)),
            Value::Number(n) => n
                .as_i64()
                .map(MatchValue::Integer)
                .ok_or_else(|| anyhow!("filter value {n} is not an integer")),
            other => Err(anyhow!("cannot filter on {other}")),
        }
    };
    let m = match values {
        [v] => one(v)?,
        vs if vs.iter().all(Value::is_string) => MatchValue::Keywords(RepeatedStrings {
            strings: vs
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        }),
        vs => MatchValue::Integers(RepeatedIntegers {
            integers: vs
                .iter()
                .map(|v| v.as_i64().ok_or_else(|| anyhow!("mixed filter values")))
                .collect::<anyhow::Result<_>>()?,
        }),
    };
    Ok(Condition {
        condition_one_of: Some(ConditionOneOf::Field(FieldCondition {
            key: key.to_owned(),
            r#match: Some(Match {
                match_value: Some(m),
            }),
            ..Default::default()
        })),
    })
}

/// `None` for the empty filter (Qdrant's "no filter": everything passes).
pub fn filter_to_grpc(f: &Filter) -> anyhow::Result<Option<qdrant::Filter>> {
    if f.is_empty() {
        return Ok(None);
    }
    Ok(Some(qdrant::Filter {
        must: f
            .must
            .iter()
            .map(|(k, vs)| condition(k, vs))
            .collect::<anyhow::Result<_>>()?,
        ..Default::default()
    }))
}

/// The port's filter from a gRPC one: only `must` of exact field matches
/// (keyword, integer, boolean, keywords, integers) can be expressed.
pub fn filter_from_grpc(f: Option<&qdrant::Filter>) -> anyhow::Result<Filter> {
    let Some(f) = f else {
        return Ok(Filter::all());
    };
    if !f.should.is_empty() || !f.must_not.is_empty() || f.min_should.is_some() {
        bail!("only `must` filters are supported");
    }
    let mut out = Filter::all();
    for c in &f.must {
        let Some(ConditionOneOf::Field(fc)) = &c.condition_one_of else {
            bail!("only field conditions are supported");
        };
        let m = fc.r#match.as_ref().and_then(|m| m.match_value.as_ref());
        let values: Vec<Value> = match m {
            Some(MatchValue::Keyword(s)) => vec![Value::from(s.as_str())],
            Some(MatchValue::Integer(i)) => vec![Value::from(*i)],
            Some(MatchValue::Boolean(b)) => vec![Value::from(*b)],
            Some(MatchValue::Keywords(r)) => {
                r.strings.iter().map(|s| Value::from(s.as_str())).collect()
            }
            Some(MatchValue::Integers(r)) => r.integers.iter().map(|i| Value::from(*i)).collect(),
            _ => bail!(
                "condition on {:?}: only exact matches are supported",
                fc.key
            ),
        };
        out.must.push((fc.key.clone(), values));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn filters_and_points_round_trip() {
        let f = Filter::all()
            .eq("lang", "en")
            .eq("n", 3)
            .eq("ok", true)
            .any("tag", vec![json!("a"), json!("b")])
            .any("k", vec![json!(1), json!(2)]);
        let back = filter_from_grpc(filter_to_grpc(&f).unwrap().as_ref()).unwrap();
        assert_eq!(back, f);
        assert_eq!(filter_to_grpc(&Filter::all()).unwrap(), None);
        assert!(filter_to_grpc(&Filter::all().eq("x", 1.5)).is_err());

        let mut payload = Map::new();
        payload.insert("nested".into(), json!({"a": [1, "x", null, 2.5]}));
        let p = Point {
            id: Uuid::from_u128(7),
            dense: Some(vec![0.5, 0.25]),
            sparse: Some(SparseVec {
                indices: vec![3, 9],
                values: vec![1.0, 2.0],
            }),
            payload,
        };
        assert_eq!(point_from_grpc(point_to_grpc(p.clone())).unwrap(), p);
    }
}
